import ArgumentParser
import Attention

// The library's option enums are spelled on the command line exactly as their raw values
// (`top-left`, `bottom-right`, `blas-materialized`), so ArgumentParser lists the accepted values
// in `--help` and rejects anything else as a usage error.

extension CausalAlignment: ExpressibleByArgument {}

extension AttentionBackend: ExpressibleByArgument {}
