// The choice of variant: once per process, on the first call of `attn_active_kernels`.
//
// The choice is published through one atomic pointer. Racing first callers may each work it out
// (it is a pure function of the CPU and the environment), but a compare-and-exchange lets only
// the first result in, so every caller of the process sees the same table. After that, a call is
// one acquire load (a plain load on x86).

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "Variants.h"

// Whether this CPU (and its operating system, which must save the wider registers) can run the
// variant. `__builtin_cpu_supports` reads the CPU model that the compiler runtime fills in before
// `main`; `__builtin_cpu_init` makes sure of it for a caller running earlier, in a constructor.
static bool supports(attn_isa isa) {
  switch (isa) {
    case ATTN_ISA_PORTABLE:
      return true;
#if defined(__x86_64__)
    case ATTN_ISA_SSE2:
      return true;  // part of x86-64
    case ATTN_ISA_AVX2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case ATTN_ISA_AVX512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f");
#else
    default:
      return false;
#endif
  }
  return false;
}

const attn_row_kernels *attn_kernels_for(attn_isa isa) {
  if (!supports(isa)) return NULL;
  switch (isa) {
    case ATTN_ISA_PORTABLE:
      return &attn_kernels_portable;
#if defined(__x86_64__)
    case ATTN_ISA_SSE2:
      return &attn_kernels_sse2;
    case ATTN_ISA_AVX2:
      return &attn_kernels_avx2;
    case ATTN_ISA_AVX512:
      return &attn_kernels_avx512;
#else
    default:
      return NULL;
#endif
  }
  return NULL;
}

attn_isa attn_best_isa(void) {
  for (int level = ATTN_ISA_AVX512; level > ATTN_ISA_PORTABLE; --level) {
    if (supports((attn_isa)level)) return (attn_isa)level;
  }
  return ATTN_ISA_PORTABLE;
}

// The highest level `ATTENTION_ISA` allows: the named one, or the best the CPU has when the
// variable is unset or names no level (a typo must not slow a process down to SSE2).
static attn_isa environment_ceiling(void) {
  static const struct {
    const char *name;
    attn_isa isa;
  } names[] = {
      {"avx512", ATTN_ISA_AVX512},
      {"avx2", ATTN_ISA_AVX2},
      {"sse2", ATTN_ISA_SSE2},
      {"portable", ATTN_ISA_PORTABLE},
  };
  const char *value = getenv("ATTENTION_ISA");
  if (value != NULL) {
    for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) {
      if (strcmp(value, names[i].name) == 0) return names[i].isa;
    }
  }
  return ATTN_ISA_AVX512;
}

static _Atomic(const attn_row_kernels *) active = NULL;

const attn_row_kernels *attn_active_kernels(void) {
  const attn_row_kernels *table = atomic_load_explicit(&active, memory_order_acquire);
  if (table != NULL) return table;
  // The widest supported level at or below the ceiling; the portable table always exists.
  const attn_row_kernels *chosen = &attn_kernels_portable;
  for (int level = environment_ceiling(); level > ATTN_ISA_PORTABLE; --level) {
    const attn_row_kernels *candidate = attn_kernels_for((attn_isa)level);
    if (candidate != NULL) {
      chosen = candidate;
      break;
    }
  }
  const attn_row_kernels *expected = NULL;
  if (atomic_compare_exchange_strong_explicit(
          &active, &expected, chosen, memory_order_acq_rel, memory_order_acquire)) {
    return chosen;
  }
  return expected;  // another thread published its choice first
}
