//! Ranking metrics shared by `evaluate` and the engine's own model choice.

/// Length of the lists that are scored.
pub const AT: usize = 10;

/// NDCG@`AT` of one list with binary relevance: `relevant` tells the hidden items, `hidden` counts them.
pub fn ndcg(list: &[u32], relevant: impl Fn(u32) -> bool, hidden: usize) -> f64 {
    let dcg: f64 = list
        .iter()
        .take(AT)
        .enumerate()
        .filter(|(_, item)| relevant(**item))
        .map(|(rank, _)| 1.0 / (rank as f64 + 2.0).log2())
        .sum();
    let ideal: f64 = (0..hidden.min(AT))
        .map(|rank| 1.0 / (rank as f64 + 2.0).log2())
        .sum();
    if ideal > 0.0 { dcg / ideal } else { 0.0 }
}
