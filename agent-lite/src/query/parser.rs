//! Datadog's metric query syntax, by recursive descent:
//!
//! ```text
//! list    := expr (',' expr)*
//! expr    := term (('+' | '-') term)*
//! term    := factor (('*' | '/') factor)*
//! factor  := number | '-' factor | '(' expr ')' | metric
//! metric  := [agg ':'] name '{' scope '}' ( 'by' '{' key (',' key)* '}' | '.' modifier )*
//! agg     := avg | sum | min | max | count | p<NN>
//! scope   := '*' | '' | or
//! or      := and ('OR' and)*
//! and     := unary ((',' | 'AND') unary)*
//! unary   := ('!' | 'NOT') unary | '(' or ')' | tag
//! modifier:= as_count() | as_rate() | rollup(method[, seconds])
//! ```
//!
//! Hand-written: Datadog publishes no Rust parser for its query language, and a few dozen
//! lines of descent give error messages with a column, which a user pasting a monitor from
//! Datadog needs more than a generic parser-combinator error.

use super::ast::{Aggregator, BinOp, Expr, MetricQuery, Modifier, RollupMethod, Scope, TagFilter};

/// Longest query accepted: far above any real one, low enough that parsing stays cheap.
pub const MAX_QUERY_LEN: usize = 4096;
/// Deepest nesting of parentheses, so hostile input cannot exhaust the stack.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query at column {column}: {message}")]
pub struct ParseError {
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

// Used by the tests now and by monitors next; the API takes lists through `parse_list`.
#[cfg_attr(not(test), allow(dead_code))]
/// Parses one query expression, e.g. `sum:trace.http.request.hits{service:web} by {resource_name}.as_count()`.
pub fn parse(input: &str) -> Result<Expr, ParseError> {
    let mut list = parse_list(input)?;
    if list.len() != 1 {
        return Err(ParseError {
            column: 1,
            message: format!("expected one query, found {}", list.len()),
        });
    }
    Ok(list.remove(0))
}

/// Parses queries separated by top-level commas, as the v1 query API accepts them.
pub fn parse_list(input: &str) -> Result<Vec<Expr>, ParseError> {
    if input.len() > MAX_QUERY_LEN {
        return Err(ParseError {
            column: 1,
            message: format!("query longer than {MAX_QUERY_LEN} bytes"),
        });
    }
    let mut p = Parser {
        src: input,
        pos: 0,
        depth: 0,
    };
    let mut out = vec![p.expr()?];
    loop {
        p.skip_ws();
        if p.eat(',') {
            out.push(p.expr()?);
        } else if p.at_end() {
            return Ok(out);
        } else {
            return Err(p.unexpected("an operator, ',' or the end of the query"));
        }
    }
}

struct Parser<'a> {
    src: &'a str,
    /// Byte offset, always on a char boundary.
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.src[self.pos..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn bump(&mut self) {
        if let Some(c) = self.peek() {
            self.pos += c.len_utf8();
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError {
            column: self.src[..self.pos].chars().count() + 1,
            message: message.into(),
        }
    }

    fn unexpected(&self, expected: &str) -> ParseError {
        match self.peek() {
            Some(c) => self.error(format!("expected {expected}, found '{c}'")),
            None => self.error(format!("expected {expected}, found the end of the query")),
        }
    }

    fn expect(&mut self, c: char, expected: &str) -> Result<(), ParseError> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.unexpected(expected))
        }
    }

    fn enter(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// A run of characters accepted by `ok`.
    fn take_while(&mut self, ok: impl Fn(char) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&ok) {
            self.bump();
        }
        &self.src[start..self.pos]
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.enter()?;
        let mut lhs = self.term()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some('+') => BinOp::Add,
                Some('-') => BinOp::Sub,
                _ => break,
            };
            self.bump();
            let rhs = self.term()?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        self.depth -= 1;
        Ok(lhs)
    }

    fn term(&mut self) -> Result<Expr, ParseError> {
        let mut lhs = self.factor()?;
        loop {
            self.skip_ws();
            let op = match self.peek() {
                Some('*') => BinOp::Mul,
                Some('/') => BinOp::Div,
                _ => break,
            };
            self.bump();
            let rhs = self.factor()?;
            lhs = Expr::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            };
        }
        Ok(lhs)
    }

    fn factor(&mut self) -> Result<Expr, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some('(') => {
                self.bump();
                let e = self.expr()?;
                self.expect(')', "')'")?;
                Ok(e)
            }
            Some('-') => {
                self.bump();
                self.enter()?;
                let inner = self.factor()?;
                self.depth -= 1;
                Ok(match inner {
                    Expr::Number(n) => Expr::Number(-n),
                    other => Expr::Binary {
                        op: BinOp::Mul,
                        lhs: Box::new(Expr::Number(-1.0)),
                        rhs: Box::new(other),
                    },
                })
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.metric().map(Expr::Metric),
            _ => Err(self.unexpected("a metric query, a number or '('")),
        }
    }

    fn number(&mut self) -> Result<Expr, ParseError> {
        let start = self.pos;
        let text = self.take_while(|c| c.is_ascii_digit() || c == '.');
        let mut end = self.pos;
        // An exponent, e.g. 1e6 or 2.5E-3.
        if matches!(self.peek(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if matches!(self.peek(), Some('+' | '-')) {
                self.bump();
            }
            if self.take_while(|c| c.is_ascii_digit()).is_empty() {
                self.pos = save;
            } else {
                end = self.pos;
            }
        }
        let full = &self.src[start..end];
        match full.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Expr::Number(n)),
            _ => {
                self.pos = start;
                Err(self.error(format!(
                    "invalid number '{}'",
                    if full.is_empty() { text } else { full }
                )))
            }
        }
    }

    fn identifier(&mut self) -> &'a str {
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    }

    fn metric(&mut self) -> Result<MetricQuery, ParseError> {
        let start = self.pos;
        let first = self.identifier();
        let (aggregator, explicit, metric) = if self.eat(':') {
            let agg = parse_aggregator(first).ok_or_else(|| ParseError {
                column: self.src[..start].chars().count() + 1,
                message: format!(
                    "unknown aggregator '{first}' (expected avg, sum, min, max, count or pNN)"
                ),
            })?;
            self.skip_ws();
            let name_start = self.pos;
            let name = self.identifier();
            if name.is_empty() {
                return Err(self.unexpected("a metric name after the aggregator"));
            }
            self.check_metric_name(name, name_start)?;
            (agg, true, name)
        } else {
            self.check_metric_name(first, start)?;
            (Aggregator::Avg, false, first)
        };
        self.skip_ws();
        if !self.eat('{') {
            return Err(self.unexpected("'{' and a scope after the metric name (use {*} for all)"));
        }
        let scope = self.scope()?;
        let mut query = MetricQuery {
            aggregator,
            explicit_aggregator: explicit,
            metric: metric.to_owned(),
            scope,
            group_by: Vec::new(),
            modifiers: Vec::new(),
        };
        loop {
            self.skip_ws();
            if self.eat('.') {
                query.modifiers.push(self.modifier()?);
            } else if self.rest().starts_with("by")
                && self.rest()[2..].starts_with(|c: char| c.is_whitespace() || c == '{')
            {
                if !query.group_by.is_empty() {
                    return Err(self.error("'by' given twice"));
                }
                self.pos += 2;
                query.group_by = self.group_by()?;
            } else {
                return Ok(query);
            }
        }
    }

    fn check_metric_name(&self, name: &str, at: usize) -> Result<(), ParseError> {
        let err = |message: String| ParseError {
            column: self.src[..at].chars().count() + 1,
            message,
        };
        if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return Err(err(format!(
                "metric name '{name}' must start with a letter"
            )));
        }
        if name.ends_with('.') || name.contains("..") {
            return Err(err(format!("metric name '{name}' has an empty segment")));
        }
        Ok(())
    }

    fn scope(&mut self) -> Result<Scope, ParseError> {
        self.skip_ws();
        if self.eat('}') {
            return Ok(Scope::All);
        }
        let save = self.pos;
        if self.eat('*') {
            self.skip_ws();
            if self.eat('}') {
                return Ok(Scope::All);
            }
            self.pos = save;
        }
        let filter = self.or()?;
        self.expect('}', "',', 'AND', 'OR' or '}' closing the scope")?;
        Ok(Scope::Filter(filter))
    }

    /// True, and consumes it, when the next word is `kw` followed by a separator.
    fn keyword(&mut self, kw: &str) -> bool {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with(kw)
            && rest[kw.len()..].starts_with(|c: char| c.is_whitespace() || c == '(' || c == '!')
        {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<TagFilter, ParseError> {
        self.enter()?;
        let mut parts = vec![self.and()?];
        while self.keyword("OR") {
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            TagFilter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<TagFilter, ParseError> {
        let mut parts = vec![self.unary()?];
        loop {
            self.skip_ws();
            if self.eat(',') || self.keyword("AND") {
                parts.push(self.unary()?);
            } else {
                break;
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            TagFilter::And(parts)
        })
    }

    fn unary(&mut self) -> Result<TagFilter, ParseError> {
        self.skip_ws();
        if self.eat('!') || self.keyword("NOT") {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(TagFilter::Not(Box::new(inner)));
        }
        if self.eat('(') {
            let inner = self.or()?;
            self.expect(')', "')' closing the group of tags")?;
            return Ok(inner);
        }
        let tag = self.take_while(|c| !c.is_whitespace() && !",{}()!".contains(c));
        if tag.is_empty() {
            return Err(self.unexpected("a tag"));
        }
        Ok(TagFilter::Tag(tag.to_owned()))
    }

    fn group_by(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect('{', "'{' after 'by'")?;
        let mut keys = Vec::new();
        loop {
            self.skip_ws();
            let key = self.take_while(|c| !c.is_whitespace() && !",{}()".contains(c));
            if key.is_empty() {
                return Err(self.unexpected("a tag key to group by"));
            }
            keys.push(key.to_owned());
            self.skip_ws();
            if self.eat('}') {
                return Ok(keys);
            }
            if !self.eat(',') {
                return Err(self.unexpected("',' or '}' in the group-by list"));
            }
        }
    }

    fn modifier(&mut self) -> Result<Modifier, ParseError> {
        let at = self.pos;
        let name = self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        self.expect('(', "'(' after the function name")?;
        let m = match name {
            "as_count" => Modifier::AsCount,
            "as_rate" => Modifier::AsRate,
            "rollup" => {
                self.skip_ws();
                let method_at = self.pos;
                let method = match self.take_while(|c| c.is_ascii_alphabetic()) {
                    "avg" => RollupMethod::Avg,
                    "sum" => RollupMethod::Sum,
                    "min" => RollupMethod::Min,
                    "max" => RollupMethod::Max,
                    "count" => RollupMethod::Count,
                    other => {
                        self.pos = method_at;
                        return Err(self.error(format!(
                            "unknown rollup method '{other}' (expected avg, sum, min, max or count)"
                        )));
                    }
                };
                self.skip_ws();
                let seconds = if self.eat(',') {
                    self.skip_ws();
                    let digits_at = self.pos;
                    let digits = self.take_while(|c| c.is_ascii_digit());
                    match digits.parse::<u32>() {
                        Ok(s) if s > 0 => Some(s),
                        _ => {
                            self.pos = digits_at;
                            return Err(
                                self.error("rollup interval must be a positive number of seconds")
                            );
                        }
                    }
                } else {
                    None
                };
                Modifier::Rollup { method, seconds }
            }
            other => {
                self.pos = at;
                return Err(self.error(format!(
                    "unsupported function '.{other}()' (supported: .as_count(), .as_rate(), .rollup())"
                )));
            }
        };
        self.expect(')', "')' closing the function call")?;
        Ok(m)
    }
}

fn parse_aggregator(word: &str) -> Option<Aggregator> {
    Some(match word {
        "avg" => Aggregator::Avg,
        "sum" => Aggregator::Sum,
        "min" => Aggregator::Min,
        "max" => Aggregator::Max,
        "count" => Aggregator::Count,
        _ => {
            let n: f64 = word.strip_prefix('p')?.parse().ok()?;
            if !(n > 0.0 && n <= 100.0) {
                return None;
            }
            Aggregator::Percentile(n)
        }
    })
}
