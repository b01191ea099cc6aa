import Attention

/// The run-queue load averages (`/proc/loadavg`): on a machine shared with other work, how busy
/// it was while a figure was measured.
struct LoadAverage: Sendable, Codable {
  var oneMinute: Double
  var fiveMinutes: Double
  var fifteenMinutes: Double

  /// The averages now, or `nil` where `/proc/loadavg` cannot be read.
  static var current: LoadAverage? {
    guard let text = ProcFileSystem.readText(atPath: "/proc/loadavg") else { return nil }
    let fields = text.split(separator: " ").prefix(3).compactMap { Double($0) }
    guard fields.count == 3 else { return nil }
    return LoadAverage(oneMinute: fields[0], fiveMinutes: fields[1], fifteenMinutes: fields[2])
  }

  /// `2.64 / 4.15 / 5.47` (1, 5 and 15 minutes).
  var description: String {
    [oneMinute, fiveMinutes, fifteenMinutes].map { formattedLoad($0) }.joined(separator: " / ")
  }

  private func formattedLoad(_ value: Double) -> String {
    var text = "\((value * 100).rounded() / 100)"
    if let dot = text.firstIndex(of: "."), text.distance(from: dot, to: text.endIndex) == 2 {
      text += "0"
    }
    return text
  }
}
