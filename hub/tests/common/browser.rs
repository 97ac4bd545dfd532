//! A browser as far as the console's HTTP tests care: a cookie jar, no redirects followed,
//! forms posted with the page's CSRF token, uploads and downloads.

use std::cell::RefCell;
use std::collections::BTreeMap;

/// A browser as far as the console cares: a cookie jar, no redirects followed.
pub struct Browser {
    base: String,
    agent: ureq::Agent,
    pub cookies: RefCell<BTreeMap<String, String>>,
}

/// An answer: status, where it redirects, its policy header and body.
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub policy: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

impl Page {
    /// The value of the first `name="csrf"` field of the page's forms.
    pub fn csrf(&self) -> String {
        let start = self.body.find(r#"name="csrf" value=""#).expect("a form") + 19;
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_string()
    }
}

impl Browser {
    /// A browser of the hub at `base` (`http://IP:PORT`).
    pub fn new(base: &str) -> Browser {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Browser {
            base: base.to_string(),
            agent,
            cookies: RefCell::new(BTreeMap::new()),
        }
    }

    fn cookie_header(&self) -> String {
        let cookies = self.cookies.borrow();
        let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join("; ")
    }

    fn page(&self, response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Page {
        let mut response = response.expect("the hub answers");
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap();
            let pair = text.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let mut cookies = self.cookies.borrow_mut();
            if text.contains("Max-Age=0") {
                cookies.remove(name);
            } else {
                cookies.insert(name.into(), value.into());
            }
        }
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        Page {
            status: response.status().as_u16(),
            location: header("location"),
            policy: header("content-security-policy"),
            retry_after: header("retry-after"),
            body: response.body_mut().read_to_string().unwrap(),
        }
    }

    pub fn get(&self, path: &str) -> Page {
        let request = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Accept-Language", "en");
        self.page(request.call())
    }

    /// Downloads `path`: its status, content type and bytes.
    pub fn download(&self, path: &str) -> (u16, String, Vec<u8>) {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .call()
            .unwrap();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let status = response.status().as_u16();
        (status, kind, response.body_mut().read_to_vec().unwrap())
    }

    /// Posts `file` (name, bytes) with the page's CSRF token as `multipart/form-data`.
    pub fn upload(&self, path: &str, csrf: &str, file: (&str, &[u8])) -> Page {
        self.upload_with_media(path, csrf, file, &[])
    }

    /// Uploads `file` as `upload` does, with `media` as the form's media files (`media` parts).
    pub fn upload_with_media(
        &self,
        path: &str,
        csrf: &str,
        file: (&str, &[u8]),
        media: &[(&str, &[u8])],
    ) -> Page {
        let boundary = "minga-test-boundary-7d1f";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
        )
        .into_bytes();
        let parts = std::iter::once(("file", file)).chain(media.iter().map(|m| ("media", *m)));
        for (field, (name, bytes)) in parts {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Accept-Language", "en")
            .content_type(format!("multipart/form-data; boundary={boundary}"));
        self.page(request.send(&body[..]))
    }

    pub fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        let request = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .header("Accept-Language", "en");
        self.page(request.send_form(form.iter().copied()))
    }

    /// Opens the sign-in form and sends `name` and `password` with its token.
    pub fn sign_in(&self, name: &str, password: &str) -> Page {
        let form = self.get("/console/sign-in");
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = form.csrf();
        self.post(
            "/console/sign-in",
            &[("name", name), ("password", password), ("csrf", &csrf)],
        )
    }
}

/// HTML text with its character references (`&#60;`, `&lt;`, ...) read back as characters.
pub fn unescaped(html: &str) -> String {
    let mut text = String::new();
    let mut rest = html;
    while let Some(at) = rest.find('&') {
        text.push_str(&rest[..at]);
        let end = rest[at..].find(';').map(|e| at + e);
        let entity = end.map(|end| &rest[at + 1..end]);
        let decoded = match entity {
            Some("lt") => Some('<'),
            Some("gt") => Some('>'),
            Some("amp") => Some('&'),
            Some("quot") => Some('"'),
            Some(e) if e.starts_with('#') => e[1..].parse::<u32>().ok().and_then(char::from_u32),
            _ => None,
        };
        match (decoded, end) {
            (Some(c), Some(end)) => {
                text.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                text.push('&');
                rest = &rest[at + 1..];
            }
        }
    }
    text.push_str(rest);
    text
}
