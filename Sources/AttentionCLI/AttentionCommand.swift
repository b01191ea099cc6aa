import ArgumentParser

/// The `attention` command-line tool: scaled dot-product and multi-head attention on `.npy` files,
/// a report of the BLAS configuration, and a worked example.
///
/// Every failure ends the process with one line on standard error, `error: …`, and a non-zero
/// status: 64 (`EX_USAGE`) for a command line that cannot be used as written, 1 for input data
/// the computation rejects. `main()` is replaced so that neither ArgumentParser's multi-line usage
/// dump nor a Swift runtime trap ever reaches the user.
@main
struct AttentionCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention",
    abstract: "BLAS-backed scaled dot-product and multi-head attention on .npy files.",
    discussion: """
      Tensors are read from and written to NumPy .npy files (float32, float64, or bool for \
      masks) in C order; multi-head attention weights come from a .safetensors file holding a \
      PyTorch nn.MultiheadAttention state dict. Outputs are written atomically (a temporary file \
      renamed into place), and an output path equal to an input path is refused.

      Exit status:
        0   success
        1   bad input data: an unreadable or malformed file, a wrong dtype,
            mismatched shapes, bad head counts, non-finite values with
            --check-finite, or a failed write
        64  a bad command line: an unknown, missing or malformed option, or an
            output path that is also an input (EX_USAGE, as ArgumentParser)

      Every error is one line on standard error, starting with "error: ".
      """,
    version: attentionVersion,
    subcommands: [
      SDPACommand.self,
      MHACommand.self,
      InfoCommand.self,
      EmbedCommand.self,
      DemoCommand.self,
      GenerateCommand.self,
    ]
  )

  /// Parses the command line and runs the chosen subcommand, reporting any error as one line.
  ///
  /// ArgumentParser classifies every error: its own parse and validation errors get status 64,
  /// anything a command throws (``CommandLineError``, `AttentionError`, `TensorFileError`, each
  /// describing itself in one line) gets 1; help and version requests print and exit with 0.
  static func main() {
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      let status = exitCode(for: error)
      if status == .success { exit(withError: error) }
      ErrorReport.exit(message: message(for: error), status: status.rawValue)
    }
  }
}
