// SPDX-License-Identifier: Apache-2.0
// The Hungarian algorithm (Kuhn-Munkres with potentials and shortest augmenting paths, O(n²·m)) for the
// minimum-cost assignment that open-hummingbird-eval computes with scipy.optimize.linear_sum_assignment.

/// The minimum-cost assignment of rows to columns (scipy.optimize.linear_sum_assignment).
///
/// Concretely: with R = min(rows, columns) pairs, the distinct rows r and distinct columns σ(r) minimising
/// Σ cost[r, σ(r)]. Every row is assigned when rows ≤ columns, every column otherwise. Where several assignments
/// have the same minimum cost the one returned may differ from scipy's (the cost does not).
/// - Parameters:
///   - cost: [rows, columns] finite costs, row-major.
/// - Returns: [rows] the column of each row, or −1 for a row left unassigned (only when rows > columns).
/// - Complexity: O(R²·max(rows, columns)).
package func linearSumAssignment(cost: [Double], rows: Int, columns: Int) -> [Int] {
    precondition(cost.count == rows * columns, "linearSumAssignment: \(cost.count) costs for \(rows)x\(columns)")
    precondition(cost.allSatisfy { $0.isFinite }, "linearSumAssignment: costs must be finite")
    if rows == 0 || columns == 0 { return Array(repeating: -1, count: rows) }
    if rows > columns {
        var transposed = [Double](repeating: 0, count: rows * columns)
        for r in 0..<rows { for c in 0..<columns { transposed[c * rows + r] = cost[r * columns + c] } }
        let rowOfColumn = linearSumAssignment(cost: transposed, rows: columns, columns: rows)
        var result = Array(repeating: -1, count: rows)
        for (c, r) in rowOfColumn.enumerated() { result[r] = c }
        return result
    }
    // rows ≤ columns. 1-based arrays: index 0 of the columns is the virtual start column of each augmentation.
    let n = rows
    let m = columns
    var u = [Double](repeating: 0, count: n + 1)  // row potentials
    var v = [Double](repeating: 0, count: m + 1)  // column potentials
    var rowOfColumn = [Int](repeating: 0, count: m + 1)  // 0 = free column
    var previousColumn = [Int](repeating: 0, count: m + 1)
    for i in 1...n {
        rowOfColumn[0] = i
        var j0 = 0
        var slack = [Double](repeating: .infinity, count: m + 1)
        var visited = [Bool](repeating: false, count: m + 1)
        repeat {
            visited[j0] = true
            let i0 = rowOfColumn[j0]
            var delta = Double.infinity
            var j1 = 0
            for j in 1...m where !visited[j] {
                let reduced = cost[(i0 - 1) * m + (j - 1)] - u[i0] - v[j]
                if reduced < slack[j] {
                    slack[j] = reduced
                    previousColumn[j] = j0
                }
                if slack[j] < delta {
                    delta = slack[j]
                    j1 = j
                }
            }
            for j in 0...m {
                if visited[j] {
                    u[rowOfColumn[j]] += delta
                    v[j] -= delta
                } else {
                    slack[j] -= delta
                }
            }
            j0 = j1
        } while rowOfColumn[j0] != 0
        // Flip the augmenting path back to the start column.
        repeat {
            let j1 = previousColumn[j0]
            rowOfColumn[j0] = rowOfColumn[j1]
            j0 = j1
        } while j0 != 0
    }
    var result = Array(repeating: -1, count: n)
    for j in 1...m where rowOfColumn[j] != 0 { result[rowOfColumn[j] - 1] = j - 1 }
    return result
}
