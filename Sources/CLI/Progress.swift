import Foundation

/// Shows how long work is going: on a terminal a bar with rate and ETA redrawn in place, in a
/// pipe or a log one plain line every few seconds.
///
/// Concretely, on a terminal: `train  [#######.............]  35%  1,234 tok/s  ETA 0:04:12  loss 4.21`;
/// in a log: `train: 35% (3500/10000) 1,234 tok/s ETA 0:04:12 loss 4.21`.
/// Thread-safe: work on several threads may call `update` concurrently.
public final class Progress: @unchecked Sendable {
    public let label: String
    /// The amount of work in all, in `unit`s; `nil` when unknown (no bar, no ETA).
    public let total: Double?
    public let unit: String
    private let interactive: Bool
    private let interval: Double
    private let delay: Double
    private let clock: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private let start: Double
    /// Work already done when this reporter started (a resumed run): not counted in the rate.
    private let initial: Double
    private var lastDraw: Double = -Double.infinity
    private var lastDrawnCompleted: Double = -1
    private var completed: Double = 0
    private var note = ""
    private var finished = false

    /// - Parameters:
    ///   - completed: work already done before this reporter started (e.g. a resumed run).
    ///   - interactive: redraw a bar in place (default: stderr is a terminal).
    ///   - interval: seconds between plain lines when not interactive.
    ///   - delay: seconds after the start before anything is drawn; work that ends sooner stays silent
    ///     (for commands whose short runs should print nothing but their results).
    ///   - clock: seconds from any fixed origin; tests pass their own.
    ///   - write: where lines go (default: stderr).
    public init(
        label: String, total: Double?, unit: String, completed: Double = 0, interactive: Bool = isTerminal(2),
        interval: Double = 5, delay: Double = 0, clock: @escaping @Sendable () -> Double = monotonicSeconds,
        write: @escaping @Sendable (String) -> Void = writeStandardError
    ) {
        self.label = label
        self.total = total
        self.unit = unit
        self.interactive = interactive
        self.interval = interval
        self.delay = delay
        self.clock = clock
        self.write = write
        self.start = clock()
        self.initial = completed
        self.completed = completed
    }

    /// Records that `completed` units are done in all, with an optional note (e.g. the loss).
    public func update(completed: Double, note: String = "") {
        lock.lock()
        defer { lock.unlock() }
        self.completed = completed
        self.note = note
        let now = clock()
        let wait = interactive ? 0.1 : interval
        guard now - lastDraw >= wait, now - start >= delay else { return }
        lastDraw = now
        lastDrawnCompleted = completed
        write(interactive ? "\r\u{1B}[K" + line(now: now, bar: true) : line(now: now, bar: false) + "\n")
    }

    /// Adds `amount` to the completed units.
    public func advance(by amount: Double, note: String = "") {
        lock.lock()
        let next = completed + amount
        lock.unlock()
        update(completed: next, note: note)
    }

    /// Draws the final state once and ends the line.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        if delay > 0, lastDraw == -Double.infinity { return }  // silent so far: stays silent
        let now = clock()
        if interactive {
            write("\r\u{1B}[K" + line(now: now, bar: true) + "\n")
        } else if completed != lastDrawnCompleted {
            write(line(now: now, bar: false) + "\n")
        }
    }

    /// The progress line for the current state; `bar` selects the terminal layout.
    func line(now: Double, bar: Bool) -> String {
        let elapsed = max(now - start, 1e-9)
        let rate = (completed - initial) / elapsed
        var parts: [String] = []
        if let total, total > 0 {
            let fraction = min(max(completed / total, 0), 1)
            let percent = Int((fraction * 100).rounded(.down))
            if bar {
                let filled = Int((fraction * 20).rounded(.down))
                parts.append("[" + String(repeating: "#", count: filled)
                    + String(repeating: ".", count: 20 - filled) + "]")
                parts.append("\(percent)%")
            } else {
                parts.append("\(percent)% (\(Int(completed))/\(Int(total)))")
            }
        } else {
            parts.append("\(Int(completed)) \(unit)")
        }
        parts.append("\(groupedThousands(rate)) \(unit)/s")
        if let total, rate > 0, completed < total {
            parts.append("ETA " + formatDuration((total - completed) / rate))
        } else {
            parts.append("elapsed " + formatDuration(elapsed))
        }
        if !note.isEmpty { parts.append(note) }
        return (bar ? "\(label)  " : "\(label): ") + parts.joined(separator: bar ? "  " : " ")
    }
}

/// Seconds on a monotonic clock.
@Sendable public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

/// `H:MM:SS` for a duration in seconds.
public func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds.isFinite ? max(seconds, 0).rounded() : 0)
    let hours = total / 3600, minutes = total / 60 % 60, secs = total % 60
    let mm = minutes < 10 ? "0\(minutes)" : "\(minutes)"
    let ss = secs < 10 ? "0\(secs)" : "\(secs)"
    return "\(hours):\(mm):\(ss)"
}

/// A rate rounded to an integer with thousands separators (`12,345`); small rates keep one decimal.
func groupedThousands(_ value: Double) -> String {
    if value < 10 { return String(format: "%.1f", value) }
    var digits = String(Int(value.rounded()))
    var groups: [String] = []
    while digits.count > 3 {
        groups.insert(String(digits.suffix(3)), at: 0)
        digits.removeLast(3)
    }
    groups.insert(digits, at: 0)
    return groups.joined(separator: ",")
}
