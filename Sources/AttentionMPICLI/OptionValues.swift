import ArgumentParser
import Attention

// Parsed from its raw value, `top-left` or `bottom-right`, as `attention` does.
extension CausalAlignment: ExpressibleByArgument {}
