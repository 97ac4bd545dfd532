//! Splits an XLSForm expression into tokens, each with the byte position it starts at.

use super::ParseError;

/// One token of an expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Token {
    Number(f64),
    Literal(String),
    /// `${name}`.
    Reference(String),
    /// A name: a function, a path step, or an operator word (`and`, `or`, `div`, `mod`).
    Name(String),
    Dot,
    DotDot,
    Slash,
    DoubleSlash,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Plus,
    Minus,
    Star,
    Pipe,
    At,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Token {
    /// How the token reads in an error message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::Number(n) => format!("number {n}"),
            Token::Literal(s) => format!("string '{s}'"),
            Token::Reference(name) => format!("${{{name}}}"),
            Token::Name(name) => format!("'{name}'"),
            other => format!("'{}'", other.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Token::Dot => ".",
            Token::DotDot => "..",
            Token::Slash => "/",
            Token::DoubleSlash => "//",
            Token::LParen => "(",
            Token::RParen => ")",
            Token::LBracket => "[",
            Token::RBracket => "]",
            Token::Comma => ",",
            Token::Plus => "+",
            Token::Minus => "-",
            Token::Star => "*",
            Token::Pipe => "|",
            Token::At => "@",
            Token::Eq => "=",
            Token::Ne => "!=",
            Token::Lt => "<",
            Token::Le => "<=",
            Token::Gt => ">",
            Token::Ge => ">=",
            _ => "",
        }
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Spanned {
    pub token: Token,
    pub position: usize,
}

/// Tokenises `source`; the first character that cannot start a token is an error.
pub(crate) fn tokenize(source: &str) -> Result<Vec<Spanned>, ParseError> {
    let mut lexer = Lexer {
        source,
        position: 0,
        tokens: Vec::new(),
    };
    lexer.run()?;
    Ok(lexer.tokens)
}

struct Lexer<'a> {
    source: &'a str,
    position: usize,
    tokens: Vec<Spanned>,
}

fn is_name_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

impl Lexer<'_> {
    fn rest(&self) -> &str {
        &self.source[self.position..]
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        self.rest().chars().nth(1)
    }

    fn push(&mut self, token: Token, start: usize) {
        self.tokens.push(Spanned {
            token,
            position: start,
        });
    }

    fn run(&mut self) -> Result<(), ParseError> {
        while let Some(c) = self.peek() {
            let start = self.position;
            if c.is_whitespace() {
                self.position += c.len_utf8();
            } else if c.is_ascii_digit()
                || (c == '.' && self.peek_second().is_some_and(|d| d.is_ascii_digit()))
            {
                let number = self.number();
                self.push(Token::Number(number), start);
            } else if c == '\'' || c == '"' {
                let text = self.literal(c)?;
                self.push(Token::Literal(text), start);
            } else if c == '$' {
                let name = self.reference()?;
                self.push(Token::Reference(name), start);
            } else if let Some(operator) = self.operator_word() {
                self.position += operator.len();
                self.push(Token::Name(operator.to_string()), start);
            } else if is_name_start(c) {
                let name = self.name();
                self.push(Token::Name(name), start);
            } else {
                let token = self.symbol(c)?;
                self.push(token, start);
            }
        }
        Ok(())
    }

    /// `and`, `or`, `div` or `mod` where an operator is due (after an operand), even when a name
    /// character follows: XPath reads `1div1` and `1 and1` so, and so do ODK's lexers (JavaRosa's
    /// `Lexer` matches the word in its operator context).
    fn operator_word(&self) -> Option<&'static str> {
        let after_operand = self.tokens.last().is_some_and(|last| match &last.token {
            Token::Number(_)
            | Token::Literal(_)
            | Token::Reference(_)
            | Token::Dot
            | Token::DotDot
            | Token::RParen
            | Token::RBracket => true,
            Token::Name(name) => !matches!(name.as_str(), "and" | "or" | "div" | "mod"),
            _ => false,
        });
        let rest = self.rest();
        ["and", "or", "div", "mod"]
            .into_iter()
            .find(|word| after_operand && rest.starts_with(word))
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &str {
        let start = self.position;
        let len: usize = self
            .rest()
            .chars()
            .take_while(|&c| keep(c))
            .map(char::len_utf8)
            .sum();
        self.position += len;
        &self.source[start..self.position]
    }

    fn number(&mut self) -> f64 {
        let start = self.position;
        self.take_while(|c| c.is_ascii_digit());
        if self.peek() == Some('.') && self.peek_second() != Some('.') {
            self.position += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        // Only digits and one dot were taken, which always parses.
        self.source[start..self.position]
            .parse()
            .unwrap_or(f64::NAN)
    }

    fn literal(&mut self, quote: char) -> Result<String, ParseError> {
        let start = self.position;
        self.position += 1;
        let text = self.take_while(|c| c != quote).to_string();
        if self.peek() != Some(quote) {
            return Err(ParseError::new(
                start,
                format!("a closing {quote} for this string"),
                "end of input",
            ));
        }
        self.position += 1;
        Ok(text)
    }

    fn reference(&mut self) -> Result<String, ParseError> {
        self.position += 1;
        if self.peek() != Some('{') {
            return Err(self.error_here("'{' after '$'"));
        }
        self.position += 1;
        let name = self
            .take_while(|c| c != '}' && !c.is_whitespace())
            .to_string();
        if name.is_empty() {
            return Err(self.error_here("a question name"));
        }
        if self.peek() != Some('}') {
            return Err(self.error_here("'}'"));
        }
        self.position += 1;
        Ok(name)
    }

    /// A name, with an optional prefix (`jr:choice-name`).
    fn name(&mut self) -> String {
        let mut name = self.take_while(is_name_char).to_string();
        if self.peek() == Some(':') && self.peek_second().is_some_and(is_name_start) {
            self.position += 1;
            name.push(':');
            name.push_str(self.take_while(is_name_char));
        }
        name
    }

    fn symbol(&mut self, c: char) -> Result<Token, ParseError> {
        let two = (c, self.peek_second());
        let (token, len) = match two {
            ('.', Some('.')) => (Token::DotDot, 2),
            ('/', Some('/')) => (Token::DoubleSlash, 2),
            ('!', Some('=')) => (Token::Ne, 2),
            ('<', Some('=')) => (Token::Le, 2),
            ('>', Some('=')) => (Token::Ge, 2),
            ('.', _) => (Token::Dot, 1),
            ('/', _) => (Token::Slash, 1),
            ('(', _) => (Token::LParen, 1),
            (')', _) => (Token::RParen, 1),
            ('[', _) => (Token::LBracket, 1),
            (']', _) => (Token::RBracket, 1),
            (',', _) => (Token::Comma, 1),
            ('+', _) => (Token::Plus, 1),
            ('-', _) => (Token::Minus, 1),
            ('*', _) => (Token::Star, 1),
            ('|', _) => (Token::Pipe, 1),
            ('@', _) => (Token::At, 1),
            ('=', _) => (Token::Eq, 1),
            ('<', _) => (Token::Lt, 1),
            ('>', _) => (Token::Gt, 1),
            _ => {
                return Err(ParseError::new(
                    self.position,
                    "an expression",
                    format!("'{c}'"),
                ))
            }
        };
        self.position += len;
        Ok(token)
    }

    fn error_here(&self, expected: &str) -> ParseError {
        let found = self
            .peek()
            .map_or("end of input".to_string(), |c| format!("'{c}'"));
        ParseError::new(self.position, expected, found)
    }
}
