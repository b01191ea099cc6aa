// The tables of the compiled variants, defined one per file (PortableKernels.c, SSE2Kernels.c,
// AVX2Kernels.c, AVX512Kernels.c) and looked up only by Dispatch.c. Hidden: they are not part of
// the library's exported symbols.

#ifndef C_ATTENTION_KERNELS_VARIANTS_H
#define C_ATTENTION_KERNELS_VARIANTS_H

#include "CAttentionKernels.h"

#define ATTN_HIDDEN __attribute__((visibility("hidden")))

ATTN_HIDDEN extern const attn_row_kernels attn_kernels_portable;

#if defined(__x86_64__)
ATTN_HIDDEN extern const attn_row_kernels attn_kernels_sse2;
ATTN_HIDDEN extern const attn_row_kernels attn_kernels_avx2;
ATTN_HIDDEN extern const attn_row_kernels attn_kernels_avx512;
#endif

#endif  // C_ATTENTION_KERNELS_VARIANTS_H
