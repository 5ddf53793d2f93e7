import Synchronization
import Testing

@testable import CLI

/// A clock the test moves by hand, and a sink that keeps what was written.
private final class Recorder: Sendable {
    let now = Mutex<Double>(0)
    let lines = Mutex<[String]>([])
}

@Suite("Progress reporting")
struct ProgressTests {
    private func progress(_ recorder: Recorder, interactive: Bool, total: Double?) -> Progress {
        Progress(
            label: "train", total: total, unit: "tok", interactive: interactive, interval: 5,
            clock: { recorder.now.withLock { $0 } },
            write: { text in recorder.lines.withLock { $0.append(text) } })
    }

    @Test("in a log: one plain line per interval with percent, rate and ETA")
    func plainLines() {
        let recorder = Recorder()
        let p = progress(recorder, interactive: false, total: 10_000)
        recorder.now.withLock { $0 = 2 }
        p.update(completed: 2_000, note: "loss 4.20")
        recorder.now.withLock { $0 = 4 }
        p.update(completed: 4_000)  // within 5 s of the last line: not written
        recorder.now.withLock { $0 = 8 }
        p.update(completed: 8_000)
        let lines = recorder.lines.withLock { $0 }
        #expect(lines == [
            "train: 20% (2000/10000) 1,000 tok/s ETA 0:00:08 loss 4.20\n",
            "train: 80% (8000/10000) 1,000 tok/s ETA 0:00:02\n",
        ])
    }

    @Test("on a terminal: a bar redrawn in place, ended by finish")
    func terminalBar() {
        let recorder = Recorder()
        let p = progress(recorder, interactive: true, total: 100)
        recorder.now.withLock { $0 = 10 }
        p.update(completed: 50)
        p.finish()
        p.finish()
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.count == 2)
        #expect(lines[0] == "\r\u{1B}[Ktrain  [##########..........]  50%  5.0 tok/s  ETA 0:00:10")
        #expect(lines[1].hasSuffix("\n"))
    }

    @Test("unknown total: count and elapsed time, no ETA")
    func unknownTotal() {
        let recorder = Recorder()
        let p = progress(recorder, interactive: false, total: nil)
        recorder.now.withLock { $0 = 3725 }
        p.update(completed: 3_725_000)
        #expect(recorder.lines.withLock { $0 } == ["train: 3725000 tok 1,000 tok/s elapsed 1:02:05\n"])
    }
}

@Suite("Progress reporting of resumed work")
struct ResumedProgressTests {
    @Test("work done before the start is not counted in the rate, and finish does not repeat a line")
    func resumed() {
        let lines = Mutex<[String]>([])
        let now = Mutex<Double>(0)
        let p = Progress(
            label: "train", total: 100, unit: "upd", completed: 40, interactive: false, interval: 5,
            clock: { now.withLock { $0 } }, write: { text in lines.withLock { $0.append(text) } })
        now.withLock { $0 = 10 }
        p.update(completed: 60)
        p.finish()
        #expect(lines.withLock { $0 } == ["train: 60% (60/100) 2.0 upd/s ETA 0:00:20\n"])
    }
}

@Suite("Progress reporting after a delay")
struct DelayedProgressTests {
    @Test("nothing is drawn before the delay, and work that ends sooner stays silent")
    func delayed() {
        let lines = Mutex<[String]>([])
        let now = Mutex<Double>(0)
        func make() -> Progress {
            now.withLock { $0 = 0 }
            return Progress(
                label: "decode", total: 100, unit: "lines", interactive: false, interval: 5, delay: 10,
                clock: { now.withLock { $0 } }, write: { text in lines.withLock { $0.append(text) } })
        }
        let short = make()
        now.withLock { $0 = 9 }
        short.update(completed: 100)
        short.finish()
        #expect(lines.withLock { $0 }.isEmpty)

        let long = make()
        now.withLock { $0 = 9 }
        long.update(completed: 30)  // before the delay: not drawn
        now.withLock { $0 = 10 }
        long.update(completed: 40)
        now.withLock { $0 = 12 }
        long.update(completed: 100)  // within the interval: drawn only by finish
        long.finish()
        #expect(lines.withLock { $0 } == [
            "decode: 40% (40/100) 4.0 lines/s ETA 0:00:15\n",
            "decode: 100% (100/100) 8.3 lines/s elapsed 0:00:12\n",
        ])
    }
}
