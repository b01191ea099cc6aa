import ArgumentParser
import DistributedAttention
import Foundation

/// `attention-mpi`: `attention sdpa` across the processes of an MPI job, run under `mpirun`.
///
/// Every failure ends every process with a non-zero status and one `error: …` line on standard
/// error, from the process that failed (the lowest-ranked one when several did): 64 for a
/// command line that cannot be used, 1 for input data that is refused or a failure while
/// computing. Failures every process can see (a missing or malformed file, shapes that do not
/// fit) are agreed on and end every process normally; a failure one process meets alone later
/// (a read or write error, a refused computation) ends the job with `MPI_Abort`. No failure
/// leaves a process waiting.
@main
struct AttentionMPICommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "attention-mpi",
    abstract: "Scaled dot-product attention across the processes of mpirun (ring attention).",
    discussion: """
      Run under mpirun: mpirun -np P attention-mpi sdpa --query q.npy --key k.npy --value v.npy \
      --output o.npy. Each process reads only its own rows of the inputs; process 0 gathers \
      the output and writes it. The output equals `attention sdpa` on the same inputs within \
      rounding.

      Exit status:
        0   success
        1   bad input data or a failure while computing or writing
        64  a bad command line
      """,
    subcommands: [DistributedSDPACommand.self]
  )

  /// Starts MPI, parses the command line and runs the subcommand; reports any failure as one
  /// line from one process and ends every process with a non-zero status.
  static func main() {
    MemoryReturn.returnFreedBlocksAtOnce()
    let group: ProcessGroup
    do {
      group = try ProcessGroup.initialize()
    } catch {
      ProcessFailure.exit(message: "\(error)", status: 1)
    }
    var command: any ParsableCommand
    do {
      command = try parseAsRoot()
    } catch {
      // Every process parsed the same arguments: process 0 speaks for all, before the others
      // may exit (mpirun ends the job when one process exits with a failure).
      let status = exitCode(for: error)
      if group.rank == 0 {
        if status == .success {
          print(fullMessage(for: error))
        } else {
          ProcessFailure.report(message(for: error))
        }
      }
      ProcessGroup.finalize()
      Foundation.exit(status.rawValue)
    }
    do {
      if let distributed = command as? DistributedSDPACommand {
        try distributed.run(group: group)
      } else {
        try command.run()
      }
    } catch let failure as AgreedFailure {
      // The reporter writes its line before the collective finalize, so before any process
      // exits and mpirun ends the job.
      if failure.reporter == group.rank { ProcessFailure.report(failure.message) }
      ProcessGroup.finalize()
      Foundation.exit(1)
    } catch  where exitCode(for: error) == .success {
      // `--help` parses into a command whose run throws the help text.
      if group.rank == 0 { print(fullMessage(for: error)) }
      ProcessGroup.finalize()
      Foundation.exit(0)
    } catch {
      ProcessFailure.abort(group, message: "\(error)")
    }
    ProcessGroup.finalize()
  }
}
