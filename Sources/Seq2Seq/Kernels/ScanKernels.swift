/// Causal linear attention by a chunked scan, for `groups` independent sequences of length `m`:
/// ```
/// y_t (+)= scale_t · Σ_{s ≤ t} (q_t · k_s) v_s        (Σ_{s ≥ t} when `reverse`)
/// ```
/// Shapes per group: `q`, `k` `[m, a]`, `v`, `y` `[m, b]`; `scale` `[m]` or nil (all 1).
///
/// Memory-light (luna.md §2.3): within a chunk of `c` positions the masked `c×c` scores multiply the chunk's
/// values; the earlier chunks enter through a running `a×b` state `S = Σ k_sᵀ v_s`, updated after each
/// chunk. Nothing of size `m·a·b` is ever materialised. All products go through `gemm`.
func causalScanKernel(
    _ y: UnsafeMutablePointer<Float>, accumulate: Bool, q: UnsafePointer<Float>, k: UnsafePointer<Float>,
    v: UnsafePointer<Float>, scale: UnsafePointer<Float>?, groups: Int, length m: Int, keyWidth a: Int,
    valueWidth b: Int, chunk: Int, reverse: Bool
) {
    guard groups > 0, m > 0, b > 0 else { return }
    let c = max(1, min(chunk, m))
    let chunks = (m + c - 1) / c
    // OpenBLAS keeps products below 262144 multiply-adds on one thread; then groups can run in parallel.
    let small = c * c * max(a, b) < 262_144 && a * b * c < 262_144
    let run = { (range: Range<Int>) in
        var scores = [Float](repeating: 0, count: c * c)
        var state = [Float](repeating: 0, count: a * b)
        var out = [Float](repeating: 0, count: c * b)
        scores.withUnsafeMutableBufferPointer { scores in
            state.withUnsafeMutableBufferPointer { state in
                out.withUnsafeMutableBufferPointer { out in
                    let (sc, st, o) = (scores.baseAddress!, state.baseAddress!, out.baseAddress!)
                    for g in range {
                        let (qg, kg, vg, yg) = (q + g * m * a, k + g * m * a, v + g * m * b, y + g * m * b)
                        st.update(repeating: 0, count: a * b)
                        for step in 0..<chunks {
                            let index = reverse ? chunks - 1 - step : step
                            let start = index * c
                            let n = min(c, m - start)
                            // scores[i, j] = q_{start+i} · k_{start+j}: [n, a] x [n, a]ᵀ
                            gemm(transposeB: true, m: n, n: n, k: a, a: qg + start * a, b: kg + start * a, c: sc, ldc: n)
                            for i in 0..<n {
                                for j in 0..<n where reverse ? j < i : j > i { sc[i * n + j] = 0 }
                            }
                            // out = scores · V_chunk + Q_chunk · S: [n, n] x [n, b] + [n, a] x [a, b]
                            gemm(m: n, n: b, k: n, a: sc, lda: n, b: vg + start * b, c: o)
                            gemm(m: n, n: b, k: a, a: qg + start * a, b: st, beta: 1, c: o)
                            // S += K_chunkᵀ · V_chunk: [n, a]ᵀ x [n, b]
                            gemm(transposeA: true, m: a, n: b, k: n, a: kg + start * a, b: vg + start * b, beta: 1, c: st)
                            for i in 0..<n {
                                let s = scale?[start + i] ?? 1
                                let target = yg + (start + i) * b
                                let source = o + i * b
                                if accumulate {
                                    for j in 0..<b { target[j] += s * source[j] }
                                } else {
                                    for j in 0..<b { target[j] = s * source[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    if small {
        Parallel.forEachRange(groups, work: groups * m * (a + b) * c) { run($0) }
    } else {
        run(0..<groups)
    }
}
