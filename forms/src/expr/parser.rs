//! A recursive-descent parser for XLSForm expressions, with XPath 1.0's precedence:
//! `or` < `and` < `= !=` < `< <= > >=` < `+ -` < `* div mod` < unary `-` < `|` < paths.

use super::lexer::{tokenize, Spanned, Token};
use super::{BinaryOp, Expr, ParseError, Path, PathStart, Step};

/// Nesting deeper than this is refused rather than risking the stack.
const MAX_DEPTH: usize = 128;

pub(crate) fn parse(source: &str) -> Result<Expr, ParseError> {
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        end: source.len(),
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Err(ParseError::new(0, "an expression", "end of input"));
    }
    let expr = parser.or_expr()?;
    match parser.peek() {
        None => Ok(expr),
        Some(_) => Err(parser.error("an operator or the end of the expression")),
    }
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
    end: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next).map(|t| &t.token)
    }

    fn peek_at(&self, offset: usize) -> Option<&Token> {
        self.tokens.get(self.next + offset).map(|t| &t.token)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |t| t.position)
    }

    fn error(&self, expected: &str) -> ParseError {
        let found = self
            .peek()
            .map_or("end of input".to_string(), Token::describe);
        ParseError::new(self.position(), expected, found)
    }

    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ParseError> {
        if self.eat(&token) {
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    /// The operator word or symbol at the cursor, if it is one of `ops`.
    fn operator(&self, ops: &[BinaryOp]) -> Option<BinaryOp> {
        let op = match self.peek()? {
            Token::Name(word) => match word.as_str() {
                "or" => BinaryOp::Or,
                "and" => BinaryOp::And,
                "div" => BinaryOp::Div,
                "mod" => BinaryOp::Mod,
                _ => return None,
            },
            Token::Eq => BinaryOp::Eq,
            Token::Ne => BinaryOp::Ne,
            Token::Lt => BinaryOp::Lt,
            Token::Le => BinaryOp::Le,
            Token::Gt => BinaryOp::Gt,
            Token::Ge => BinaryOp::Ge,
            Token::Plus => BinaryOp::Add,
            Token::Minus => BinaryOp::Sub,
            Token::Star => BinaryOp::Mul,
            Token::Pipe => BinaryOp::Union,
            _ => return None,
        };
        ops.contains(&op).then_some(op)
    }

    /// One left-associative level: `next (op next)*`.
    fn binary_level(
        &mut self,
        ops: &[BinaryOp],
        next: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let mut left = next(self)?;
        while let Some(op) = self.operator(ops) {
            self.next += 1;
            let right = next(self)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn or_expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError::new(
                self.position(),
                "a less deeply nested expression",
                "too many levels",
            ));
        }
        let expr = self.binary_level(&[BinaryOp::Or], Self::and_expr);
        self.depth -= 1;
        expr
    }

    fn and_expr(&mut self) -> Result<Expr, ParseError> {
        self.binary_level(&[BinaryOp::And], Self::equality)
    }

    fn equality(&mut self) -> Result<Expr, ParseError> {
        self.binary_level(&[BinaryOp::Eq, BinaryOp::Ne], Self::relational)
    }

    fn relational(&mut self) -> Result<Expr, ParseError> {
        let ops = [BinaryOp::Lt, BinaryOp::Le, BinaryOp::Gt, BinaryOp::Ge];
        self.binary_level(&ops, Self::additive)
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        self.binary_level(&[BinaryOp::Add, BinaryOp::Sub], Self::multiplicative)
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        self.binary_level(&[BinaryOp::Mul, BinaryOp::Div, BinaryOp::Mod], Self::unary)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat(&Token::Minus) {
            self.depth += 1;
            if self.depth > MAX_DEPTH {
                return Err(ParseError::new(
                    self.position(),
                    "a less deeply nested expression",
                    "too many '-'",
                ));
            }
            let inner = self.unary();
            self.depth -= 1;
            return Ok(Expr::Negate(Box::new(inner?)));
        }
        self.binary_level(&[BinaryOp::Union], Self::path_expr)
    }

    /// A primary expression, optionally followed by `/steps`, or a location path.
    fn path_expr(&mut self) -> Result<Expr, ParseError> {
        match self.peek() {
            Some(Token::Slash) => {
                self.next += 1;
                let steps = if self.starts_step() {
                    self.steps()?
                } else {
                    Vec::new()
                };
                Ok(Expr::Path(Path {
                    start: PathStart::Root,
                    steps,
                }))
            }
            Some(Token::DoubleSlash) => {
                self.next += 1;
                let mut steps = vec![Step::Descendants];
                steps.extend(self.steps()?);
                Ok(Expr::Path(Path {
                    start: PathStart::Root,
                    steps,
                }))
            }
            Some(Token::Dot) if !self.continues_path(1) => {
                self.next += 1;
                Ok(Expr::Current)
            }
            _ if self.starts_step() && !self.is_call() => {
                let steps = self.steps()?;
                Ok(Expr::Path(Path {
                    start: PathStart::Relative,
                    steps,
                }))
            }
            _ => self.filter_expr(),
        }
    }

    fn filter_expr(&mut self) -> Result<Expr, ParseError> {
        let (primary, may_continue) = self.primary()?;
        if !may_continue || !matches!(self.peek(), Some(Token::Slash | Token::DoubleSlash)) {
            return Ok(primary);
        }
        let steps = self.continued_steps()?;
        Ok(Expr::Path(Path {
            start: PathStart::Expr(Box::new(primary)),
            steps,
        }))
    }

    /// A primary expression and whether a `/` may follow it (not after a literal or number).
    fn primary(&mut self) -> Result<(Expr, bool), ParseError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error("an expression"));
        };
        match token {
            Token::Number(n) => {
                self.next += 1;
                Ok((Expr::Number(n), false))
            }
            Token::Literal(text) => {
                self.next += 1;
                Ok((Expr::Literal(text), false))
            }
            Token::Reference(name) => {
                self.next += 1;
                Ok((Expr::Reference(name), true))
            }
            Token::LParen => {
                self.next += 1;
                let inner = self.or_expr()?;
                self.expect(Token::RParen, "')'")?;
                Ok((inner, true))
            }
            Token::Name(name) if self.is_call() => {
                self.next += 2;
                let args = self.arguments()?;
                Ok((Expr::Call(name, args), true))
            }
            _ => Err(self.error("an expression")),
        }
    }

    fn is_call(&self) -> bool {
        matches!(self.peek(), Some(Token::Name(_))) && self.peek_at(1) == Some(&Token::LParen)
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, ParseError> {
        let mut args = Vec::new();
        if self.eat(&Token::RParen) {
            return Ok(args);
        }
        loop {
            args.push(self.or_expr()?);
            if self.eat(&Token::RParen) {
                return Ok(args);
            }
            self.expect(Token::Comma, "',' or ')'")?;
        }
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Some(Token::Dot | Token::DotDot | Token::Name(_) | Token::Star | Token::At)
        )
    }

    /// Whether the token `offset` ahead is a `/` that continues a path.
    fn continues_path(&self, offset: usize) -> bool {
        matches!(
            self.peek_at(offset),
            Some(Token::Slash | Token::DoubleSlash | Token::LBracket)
        )
    }

    /// `step ('/' step | '//' step)*`
    fn steps(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = vec![self.step()?];
        steps.extend(self.continued_steps()?);
        Ok(steps)
    }

    /// `('/' step | '//' step)*`
    fn continued_steps(&mut self) -> Result<Vec<Step>, ParseError> {
        let mut steps = Vec::new();
        loop {
            if self.eat(&Token::Slash) {
                steps.push(self.step()?);
            } else if self.eat(&Token::DoubleSlash) {
                steps.push(Step::Descendants);
                steps.push(self.step()?);
            } else {
                return Ok(steps);
            }
        }
    }

    fn step(&mut self) -> Result<Step, ParseError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error("a path step"));
        };
        self.next += 1;
        match token {
            Token::Dot => Ok(Step::SelfNode),
            Token::DotDot => Ok(Step::Parent),
            Token::Star => Ok(Step::AnyChild),
            Token::At => match self.peek().cloned() {
                Some(Token::Name(name)) => {
                    self.next += 1;
                    Ok(Step::Attribute(name))
                }
                _ => Err(self.error("an attribute name after '@'")),
            },
            Token::Name(name) => {
                let mut predicates = Vec::new();
                while self.eat(&Token::LBracket) {
                    predicates.push(self.or_expr()?);
                    self.expect(Token::RBracket, "']'")?;
                }
                Ok(Step::Child { name, predicates })
            }
            _ => {
                self.next -= 1;
                Err(self.error("a path step"))
            }
        }
    }
}
