/// Embedding lookup: row `ids[n]` of `table` for each `n`.
///
/// Shapes: `table` `[V, D]`, result `shape + [D]` (default `[ids.count, D]`).
/// Backward: scatter-add, `dtable[ids[n]] += dy[n]` (a row used twice gets both contributions). Columns
/// are split across threads and every row is added in order of `n`, so the result does not depend on the
/// thread count.
/// - Precondition: every id is in `0..<V`; `shape` holds `ids.count` elements.
public func embedding(_ table: Variable, ids: [Int], shape: [Int]? = nil) -> Variable {
    let op = "embedding"
    precondition(table.shape.count == 2, "\(op): table \(table.shape) is not [V, D]")
    let (vocabulary, width) = (table.shape[0], table.shape[1])
    for id in ids { precondition(id >= 0 && id < vocabulary, "\(op): id \(id) outside 0..<\(vocabulary)") }
    let outer = shape ?? [ids.count]
    precondition(outer.reduce(1, *) == ids.count, "\(op): shape \(outer) for \(ids.count) ids")
    let tape = commonTape([table], op: op)
    var y = makeOutput(outer + [width], tape)
    table.value.withUnsafeBufferPointer { pt in
        y.withUnsafeMutableBufferPointer { py in
            let (t, out) = (pt.baseAddress!, py.baseAddress!)
            ids.withUnsafeBufferPointer { pi in
                let ids = pi.baseAddress!
                Parallel.forEachRange(pi.count, work: pi.count * width) { range in
                    for n in range { (out + n * width).update(from: t + ids[n] * width, count: width) }
                }
            }
        }
    }
    let tableSlot = table.gradientSlot
    return record(y, inputs: [table], op: op) { dY, tape in
        tape.accumulateGradient(into: tableSlot) { dTable, accumulate in
            dY.withUnsafeBufferPointer { pg in
                ids.withUnsafeBufferPointer { pi in
                    let (g, d, ids) = (pg.baseAddress!, dTable.baseAddress!, pi.baseAddress!)
                    Parallel.forEachRange(width, work: pi.count * width + dTable.count) { columns in
                        if !accumulate {
                            for v in 0..<vocabulary { for j in columns { d[v * width + j] = 0 } }
                        }
                        for n in 0..<pi.count {
                            let (target, source) = (d + ids[n] * width, g + n * width)
                            for j in columns { target[j] += source[j] }
                        }
                    }
                }
            }
        }
    }
}
