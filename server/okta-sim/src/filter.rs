//! Okta's filter and search expressions (`profile.login eq "a@b.c" and status eq "ACTIVE"`):
//! a parser, a type check against the attributes an endpoint supports, and an evaluator.
//!
//! Operators: `eq ne gt ge lt le sw co pr`, combined with `and`, `or`, `not` and parentheses.
//! String comparisons ignore case, as Okta's do; instants compare as instants.

use super::time::parse_instant;

/// The kind of value an attribute holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Instant,
}

/// An attribute's value on one item.
#[derive(Debug, Clone, PartialEq)]
pub enum Val<'a> {
    Text(&'a str),
    Instant(i64),
    Missing,
}

/// Comparison operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Sw,
    Co,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Text(String),
    Instant(i64),
}

/// A checked expression, ready to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Cmp { attr: String, op: Op, lit: Lit },
    Present(String),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Str(String),
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Token::Open);
            }
            ')' => {
                chars.next();
                out.push(Token::Close);
            }
            '"' => {
                chars.next();
                let mut lit = String::new();
                loop {
                    match chars.next() {
                        Some('\\') => match chars.next() {
                            Some(e) => lit.push(e),
                            None => return Err("unterminated string".into()),
                        },
                        Some('"') => break,
                        Some(c) => lit.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                out.push(Token::Str(lit));
            }
            _ => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' || c == '"' {
                        break;
                    }
                    word.push(c);
                    chars.next();
                }
                out.push(Token::Word(word));
            }
        }
    }
    Ok(out)
}

struct Parser<'s> {
    tokens: Vec<Token>,
    pos: usize,
    schema: &'s dyn Fn(&str) -> Option<Kind>,
}

impl Parser<'_> {
    fn peek_word(&self, w: &str) -> bool {
        matches!(self.tokens.get(self.pos), Some(Token::Word(x)) if x.eq_ignore_ascii_case(w))
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_word("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Open) => {
                self.pos += 1;
                let e = self.or()?;
                match self.tokens.get(self.pos) {
                    Some(Token::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Token::Word(attr)) => {
                self.pos += 1;
                let kind = (self.schema)(&attr)
                    .ok_or_else(|| format!("unsupported attribute {attr:?}"))?;
                let op = match self.tokens.get(self.pos) {
                    Some(Token::Word(op)) => op.to_ascii_lowercase(),
                    _ => return Err(format!("missing operator after {attr:?}")),
                };
                self.pos += 1;
                let op = match op.as_str() {
                    "pr" => return Ok(Expr::Present(attr)),
                    "eq" => Op::Eq,
                    "ne" => Op::Ne,
                    "gt" => Op::Gt,
                    "ge" => Op::Ge,
                    "lt" => Op::Lt,
                    "le" => Op::Le,
                    "sw" => Op::Sw,
                    "co" => Op::Co,
                    other => return Err(format!("unknown operator {other:?}")),
                };
                let raw = match self.tokens.get(self.pos) {
                    Some(Token::Str(s)) => s.clone(),
                    _ => return Err(format!("{attr} {op:?} needs a quoted value")),
                };
                self.pos += 1;
                let lit = match kind {
                    Kind::Text => Lit::Text(raw.to_lowercase()),
                    Kind::Instant => {
                        if matches!(op, Op::Sw | Op::Co) {
                            return Err(format!("{attr} does not support {op:?}"));
                        }
                        Lit::Instant(
                            parse_instant(&raw)
                                .ok_or_else(|| format!("{raw:?} is not an ISO 8601 instant"))?,
                        )
                    }
                };
                Ok(Expr::Cmp { attr, op, lit })
            }
            _ => Err("expected an attribute".into()),
        }
    }
}

/// Parses `s`, accepting only attributes `schema` knows; the error says what is wrong.
pub fn parse(s: &str, schema: &dyn Fn(&str) -> Option<Kind>) -> Result<Expr, String> {
    let tokens = tokenize(s)?;
    if tokens.is_empty() {
        return Err("empty expression".into());
    }
    let mut p = Parser {
        tokens,
        pos: 0,
        schema,
    };
    let e = p.or()?;
    if p.pos != p.tokens.len() {
        return Err("unexpected text after the expression".into());
    }
    Ok(e)
}

impl Expr {
    /// Evaluates against an item whose attributes `get` returns.
    pub fn matches<'a>(&self, get: &dyn Fn(&str) -> Val<'a>) -> bool {
        match self {
            Expr::And(a, b) => a.matches(get) && b.matches(get),
            Expr::Or(a, b) => a.matches(get) || b.matches(get),
            Expr::Not(a) => !a.matches(get),
            Expr::Present(attr) => !matches!(get(attr), Val::Missing),
            Expr::Cmp { attr, op, lit } => match (get(attr), lit) {
                (Val::Text(v), Lit::Text(l)) => {
                    let v = v.to_lowercase();
                    match op {
                        Op::Eq => v == *l,
                        Op::Ne => v != *l,
                        Op::Gt => v.as_str() > l.as_str(),
                        Op::Ge => v.as_str() >= l.as_str(),
                        Op::Lt => v.as_str() < l.as_str(),
                        Op::Le => v.as_str() <= l.as_str(),
                        Op::Sw => v.starts_with(l.as_str()),
                        Op::Co => v.contains(l.as_str()),
                    }
                }
                (Val::Instant(v), Lit::Instant(l)) => match op {
                    Op::Eq => v == *l,
                    Op::Ne => v != *l,
                    Op::Gt => v > *l,
                    Op::Ge => v >= *l,
                    Op::Lt => v < *l,
                    Op::Le => v <= *l,
                    Op::Sw | Op::Co => false,
                },
                (Val::Missing, _) => matches!(op, Op::Ne),
                _ => false,
            },
        }
    }

    /// The value this expression pins `attr` to with `eq` at its top level, if any, so a
    /// lookup can replace a scan (`profile.login eq "…"`).
    pub fn pinned(&self, attr: &str) -> Option<&str> {
        match self {
            Expr::Cmp {
                attr: a,
                op: Op::Eq,
                lit: Lit::Text(v),
            } if a == attr => Some(v),
            Expr::And(a, b) => a.pinned(attr).or_else(|| b.pinned(attr)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(attr: &str) -> Option<Kind> {
        match attr {
            "status" | "profile.login" | "profile.email" => Some(Kind::Text),
            "lastUpdated" => Some(Kind::Instant),
            _ => None,
        }
    }

    fn item<'a>(login: &'a str, status: &'a str, t: i64) -> impl Fn(&str) -> Val<'a> {
        move |a| match a {
            "profile.login" => Val::Text(login),
            "status" => Val::Text(status),
            "lastUpdated" => Val::Instant(t),
            _ => Val::Missing,
        }
    }

    #[test]
    fn evaluates_okta_expressions() {
        let ada = item("Ada@Example.com", "ACTIVE", 1_700_000_000_000);
        let cases = [
            (r#"profile.login eq "ada@example.com""#, true),
            (r#"status eq "ACTIVE" and profile.login sw "ada""#, true),
            (
                r#"status eq "SUSPENDED" or profile.login co "example""#,
                true,
            ),
            (r#"not (status eq "ACTIVE")"#, false),
            (r#"lastUpdated gt "2023-01-01T00:00:00.000Z""#, true),
            (r#"lastUpdated lt "2023-01-01T00:00:00.000Z""#, false),
            (r#"profile.email pr"#, false),
            (r#"status ne "DEPROVISIONED""#, true),
        ];
        for (expr, want) in cases {
            let e = parse(expr, &schema).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(e.matches(&ada), want, "{expr}");
        }
    }

    #[test]
    fn refuses_bad_expressions_with_a_reason() {
        for (expr, why) in [
            (r#"nickName eq "x""#, "unsupported attribute"),
            (r#"status eq ACTIVE"#, "quoted value"),
            (r#"status eq "ACTIVE" and"#, "expected an attribute"),
            (r#"(status eq "ACTIVE""#, "missing ')'"),
            (r#"lastUpdated gt "soon""#, "ISO 8601"),
            (r#"status like "x""#, "unknown operator"),
            (r#"status eq "ACTIVE" "x""#, "unexpected text"),
            (r#"status eq "unterminated"#, "unterminated"),
            ("", "empty"),
        ] {
            let err = parse(expr, &schema).unwrap_err();
            assert!(err.contains(why), "{expr}: {err}");
        }
    }

    #[test]
    fn finds_pinned_equalities() {
        let e = parse(
            r#"status eq "ACTIVE" and profile.login eq "A@b.c""#,
            &schema,
        )
        .unwrap();
        assert_eq!(e.pinned("profile.login"), Some("a@b.c"));
        let e = parse(r#"status eq "A" or profile.login eq "a""#, &schema).unwrap();
        assert_eq!(e.pinned("profile.login"), None);
    }
}
