//! The query as a tree. `Display` writes it back in canonical Datadog syntax, which is what
//! the v1 API echoes as a series' `expression` and what the parser's round-trip test checks.

use std::fmt;

/// A whole query: metric queries combined with numbers by `+ - * /`.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Metric(MetricQuery),
    Number(f64),
    Binary {
        op: BinOp,
        lhs: Box<Expr>,
        rhs: Box<Expr>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinOp {
    pub fn symbol(self) -> char {
        match self {
            BinOp::Add => '+',
            BinOp::Sub => '-',
            BinOp::Mul => '*',
            BinOp::Div => '/',
        }
    }

    pub fn apply(self, a: f64, b: f64) -> Option<f64> {
        let v = match self {
            BinOp::Add => a + b,
            BinOp::Sub => a - b,
            BinOp::Mul => a * b,
            // Datadog leaves a gap where the divisor is zero rather than plotting infinity.
            BinOp::Div if b == 0.0 => return None,
            BinOp::Div => a / b,
        };
        v.is_finite().then_some(v)
    }
}

/// `aggregator:metric{scope} by {tags}.modifier()...`
#[derive(Debug, Clone, PartialEq)]
pub struct MetricQuery {
    pub aggregator: Aggregator,
    /// False when the query had no `agg:` prefix (Datadog then averages).
    pub explicit_aggregator: bool,
    pub metric: String,
    pub scope: Scope,
    pub group_by: Vec<String>,
    pub modifiers: Vec<Modifier>,
}

/// Space aggregation across the series of a group, or a percentile of a distribution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregator {
    Avg,
    Sum,
    Min,
    Max,
    Count,
    /// `pNN:` with NN in (0, 100] as written (95 for p95, 99.9 for p99.9); only for
    /// distributions. Kept as written rather than as a fraction so it prints back exactly.
    Percentile(f64),
}

impl Aggregator {
    pub fn name(self) -> String {
        match self {
            Aggregator::Avg => "avg".into(),
            Aggregator::Sum => "sum".into(),
            Aggregator::Min => "min".into(),
            Aggregator::Max => "max".into(),
            Aggregator::Count => "count".into(),
            Aggregator::Percentile(p) => format!("p{p}"),
        }
    }
}

/// The `{...}` filter; `All` is `{*}` (or `{}`).
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    All,
    Filter(TagFilter),
}

#[derive(Debug, Clone, PartialEq)]
pub enum TagFilter {
    /// `key:value` or a bare tag, `*` matching any run of characters.
    Tag(String),
    Not(Box<TagFilter>),
    And(Vec<TagFilter>),
    Or(Vec<TagFilter>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Modifier {
    AsCount,
    AsRate,
    /// `.rollup(method[, seconds])`: time aggregation into wider points.
    Rollup {
        method: RollupMethod,
        seconds: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupMethod {
    Avg,
    Sum,
    Min,
    Max,
    Count,
}

impl RollupMethod {
    pub fn name(self) -> &'static str {
        match self {
            RollupMethod::Avg => "avg",
            RollupMethod::Sum => "sum",
            RollupMethod::Min => "min",
            RollupMethod::Max => "max",
            RollupMethod::Count => "count",
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Metric(m) => write!(f, "{m}"),
            Expr::Number(n) => write!(f, "{n}"),
            // Always parenthesised so that the text reparses to the same tree.
            Expr::Binary { op, lhs, rhs } => write!(f, "({lhs} {} {rhs})", op.symbol()),
        }
    }
}

impl fmt::Display for MetricQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.explicit_aggregator {
            write!(f, "{}:", self.aggregator.name())?;
        }
        write!(f, "{}{{{}}}", self.metric, self.scope)?;
        if !self.group_by.is_empty() {
            write!(f, " by {{{}}}", self.group_by.join(","))?;
        }
        for m in &self.modifiers {
            match m {
                Modifier::AsCount => write!(f, ".as_count()")?,
                Modifier::AsRate => write!(f, ".as_rate()")?,
                Modifier::Rollup { method, seconds } => {
                    write!(f, ".rollup({}", method.name())?;
                    if let Some(s) = seconds {
                        write!(f, ", {s}")?;
                    }
                    write!(f, ")")?;
                }
            }
        }
        Ok(())
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::All => write!(f, "*"),
            Scope::Filter(t) => write!(f, "{t}"),
        }
    }
}

impl fmt::Display for TagFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagFilter::Tag(t) => write!(f, "{t}"),
            TagFilter::Not(inner) => match inner.as_ref() {
                TagFilter::Tag(_) => write!(f, "!{inner}"),
                _ => write!(f, "!({inner})"),
            },
            // Top-level conjunctions print with commas, as Datadog writes scopes.
            TagFilter::And(parts) => write_joined(f, parts, ","),
            TagFilter::Or(parts) => {
                write!(f, "(")?;
                write_joined(f, parts, " OR ")?;
                write!(f, ")")
            }
        }
    }
}

fn write_joined(f: &mut fmt::Formatter<'_>, parts: &[TagFilter], sep: &str) -> fmt::Result {
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            write!(f, "{sep}")?;
        }
        // A nested AND inside AND/OR needs parentheses to keep its grouping.
        match p {
            TagFilter::And(_) => write!(f, "({p})")?,
            _ => write!(f, "{p}")?,
        }
    }
    Ok(())
}
