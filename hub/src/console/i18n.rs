//! The console's two languages: every text a page shows, in Spanish and English, chosen by the
//! `lang` cookie the language switch sets, else by the browser's `Accept-Language`.

use crate::signers::Signer;
use axum::http::HeaderMap;

/// A language the console speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Es,
    En,
}

impl Lang {
    /// The code pages carry in `<html lang>`, the cookie and the form labels' lookup.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Es => "es",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("es") => Some(Lang::Es),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The language for a request: the `lang` cookie, else the first of the browser's
    /// `Accept-Language` the console speaks (by the order given, weights ignored), else Spanish.
    pub fn of_request(headers: &HeaderMap) -> Lang {
        if let Some(lang) = super::auth::cookie(headers, super::auth::LANG_COOKIE)
            .as_deref()
            .and_then(Lang::parse)
        {
            return lang;
        }
        headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(',').find_map(Lang::parse))
            .unwrap_or(Lang::Es)
    }

    /// The other language, which the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::Es => Lang::En,
            Lang::En => Lang::Es,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Es => &ES,
            Lang::En => &EN,
        }
    }
}

/// Every text of the console's pages in one language.
#[derive(Debug)]
pub struct Texts {
    pub console: &'static str,
    pub switch_to: &'static str,
    pub sign_in: &'static str,
    pub sign_out: &'static str,
    pub name: &'static str,
    pub password: &'static str,
    pub wrong_password: &'static str,
    pub wait_seconds: &'static str,
    pub plain_http_refused: &'static str,
    pub request_refused: &'static str,
    pub not_found: &'static str,
    pub projects: &'static str,
    pub submissions: &'static str,
    pub audit: &'static str,
    pub form: &'static str,
    pub version: &'static str,
    pub facilitator: &'static str,
    pub device: &'static str,
    pub created: &'static str,
    pub updated: &'static str,
    pub status: &'static str,
    pub review: &'static str,
    pub instance: &'static str,
    pub place: &'static str,
    pub conflicts: &'static str,
    /// The table's filter and column for submissions whose answers break their form version.
    pub invalid_on_arrival: &'static str,
    pub invalid: &'static str,
    /// The submission page's section of why it was flagged.
    pub invalid_heading: &'static str,
    pub invalid_explained: &'static str,
    pub why: &'static str,
    pub any: &'static str,
    pub from: &'static str,
    pub to: &'static str,
    pub search: &'static str,
    pub sort: &'static str,
    pub newest_first: &'static str,
    pub oldest_first: &'static str,
    pub filter: &'static str,
    pub next_page: &'static str,
    pub first_page: &'static str,
    pub approve_selected: &'static str,
    pub select: &'static str,
    pub none_found: &'static str,
    pub answers: &'static str,
    pub question: &'static str,
    pub answer: &'static str,
    pub history: &'static str,
    pub changes: &'static str,
    pub verdict: &'static str,
    pub comment: &'static str,
    pub comments: &'static str,
    pub on_question: &'static str,
    pub whole_submission: &'static str,
    pub save_review: &'static str,
    pub decided_by: &'static str,
    pub when: &'static str,
    pub who: &'static str,
    pub what: &'static str,
    pub subject: &'static str,
    pub address: &'static str,
    pub yes: &'static str,
    pub older: &'static str,
    pub conflicts_heading: &'static str,
    pub devices: &'static str,
    pub forms: &'static str,
    pub export: &'static str,
    pub format: &'static str,
    pub approved_only: &'static str,
    pub download: &'static str,
    pub export_hint: &'static str,
    pub publish_version: &'static str,
    pub form_file: &'static str,
    pub form_media: &'static str,
    pub published: &'static str,
    pub sheet: &'static str,
    pub row: &'static str,
    pub column: &'static str,
    pub problem: &'static str,
    pub form_mistakes: &'static str,
    pub no_file: &'static str,
    pub already_published: &'static str,
    /// The indicators page: its title, the grouping question, the button, the measures of a
    /// numeric question and the CSV link.
    pub indicators: &'static str,
    pub group_by: &'static str,
    pub show: &'static str,
    pub answered: &'static str,
    pub mean: &'static str,
    pub least: &'static str,
    pub greatest: &'static str,
    pub sum: &'static str,
    pub download_csv: &'static str,
    /// The map page: its title, the colouring question, the count of located submissions,
    /// the way back from a zoom, and where the outline comes from.
    pub map: &'static str,
    pub colour_by: &'static str,
    pub located: &'static str,
    pub whole_map: &'static str,
    pub map_source: &'static str,
    pub upload_outline: &'static str,
    pub not_geojson: &'static str,
    pub enrol_device: &'static str,
    pub role: &'static str,
    pub facilitator_role: &'static str,
    pub supervisor: &'static str,
    pub enrolled: &'static str,
    pub last_sync: &'static str,
    pub never: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub enrolment_code: &'static str,
    pub valid_until: &'static str,
    pub scan_hint: &'static str,
    pub keep_value: &'static str,
    /// The names of [`REVIEW_STATES`], in its order.
    pub states: [&'static str; 4],
    /// The names of the statuses `draft` and `complete`.
    pub statuses: [&'static str; 2],
    /// The review's own history, beside the submission's.
    pub review_history: &'static str,
    /// The history's column of who signed the changes, and its four answers.
    pub signature: &'static str,
    pub signed_by_device: &'static str,
    pub signed_by_console_user: &'static str,
    pub signed_by_unbound_key: &'static str,
    pub unsigned: &'static str,
}

impl Texts {
    /// Who signed a history entry's changes, as a sentence: "signed by device Ana's phone".
    pub fn signed_by(&self, signer: &Signer) -> String {
        match signer {
            Signer::Device {
                device_id,
                device_name,
                ..
            } => format!(
                "{} {}",
                self.signed_by_device,
                device_name.as_deref().unwrap_or(device_id)
            ),
            Signer::ConsoleUser { name, .. } => format!("{} {name}", self.signed_by_console_user),
            Signer::UnboundKey { fingerprint } => {
                format!("{} {fingerprint}", self.signed_by_unbound_key)
            }
            Signer::Unsigned => self.unsigned.into(),
        }
    }
}

/// The review states, in the order the filters and the verdict list show them.
pub const REVIEW_STATES: [&str; 4] = ["received", "has_issues", "approved", "rejected"];

impl Texts {
    /// A review state's name (one of [`REVIEW_STATES`]; `?` for another).
    pub fn review_state(&self, state: &str) -> &'static str {
        REVIEW_STATES
            .iter()
            .position(|known| *known == state)
            .map_or("?", |index| self.states[index])
    }

    /// A submission status's name (`draft`, `complete`; another as it is).
    pub fn status<'a>(&self, status: &'a str) -> &'a str {
        match status {
            "draft" => self.statuses[0],
            "complete" => self.statuses[1],
            other => other,
        }
    }

    /// The review states with their names.
    pub fn review_states(&self) -> [(&'static str, &'static str); 4] {
        REVIEW_STATES.map(|state| (state, self.review_state(state)))
    }
}

static ES: Texts = Texts {
    console: "Consola",
    switch_to: "English",
    sign_in: "Iniciar sesión",
    sign_out: "Cerrar sesión",
    name: "Nombre",
    password: "Contraseña",
    wrong_password: "Nombre o contraseña incorrectos.",
    wait_seconds: "Demasiadas contraseñas incorrectas desde esta dirección: intente de nuevo en",
    plain_http_refused: "Por seguridad, inicie sesión por HTTPS (o desde esta misma computadora).",
    request_refused: "Solicitud rechazada: vuelva a cargar la página e intente otra vez.",
    not_found: "No encontrado.",
    projects: "Proyectos",
    submissions: "Envíos",
    audit: "Registro de auditoría",
    form: "Formulario",
    version: "Versión",
    facilitator: "Facilitador/a",
    device: "Dispositivo",
    created: "Creado",
    updated: "Actualizado",
    status: "Estado",
    review: "Revisión",
    instance: "Nombre de instancia",
    place: "Lugar",
    conflicts: "Con conflictos",
    invalid_on_arrival: "Marcados como inválidos al llegar",
    invalid: "Inválido",
    invalid_heading: "Inválido al llegar: respuestas que no caben en su versión del formulario",
    invalid_explained: "Se guardó tal como llegó. Cuando se corrijan las respuestas, la marca desaparece.",
    why: "Por qué",
    any: "Cualquiera",
    from: "Desde",
    to: "Hasta",
    search: "Buscar",
    sort: "Orden",
    newest_first: "Más recientes primero",
    oldest_first: "Más antiguos primero",
    filter: "Filtrar",
    next_page: "Página siguiente",
    first_page: "Primera página",
    approve_selected: "Aprobar los seleccionados",
    select: "Seleccionar",
    none_found: "Ningún envío coincide.",
    answers: "Respuestas",
    question: "Pregunta",
    answer: "Respuesta",
    history: "Historial",
    changes: "Cambios",
    verdict: "Veredicto",
    comment: "Comentario",
    comments: "Comentarios",
    on_question: "Sobre la pregunta",
    whole_submission: "Todo el envío",
    save_review: "Guardar la revisión",
    decided_by: "Decidido por",
    when: "Cuándo",
    who: "Quién",
    what: "Qué",
    subject: "Sobre",
    address: "Desde la dirección",
    yes: "sí",
    older: "Anteriores",
    conflicts_heading: "Conflictos: valores escritos a la vez en distintos dispositivos",
    devices: "Dispositivos",
    forms: "Formularios",
    export: "Exportar",
    format: "Formato",
    approved_only: "Solo los envíos aprobados",
    download: "Descargar",
    export_hint: "Un archivo zip con los archivos de cada formulario: CSV como los de ODK Central (una tabla principal y una por repetición), GeoJSON o JSON.",
    publish_version: "Publicar una versión nueva",
    form_file: "Archivo XLSForm (.xlsx, .xls) o formulario Minga (.json)",
    form_media: "Archivos de medios del formulario (listas CSV, XML o GeoJSON, imágenes, audio), si los nombra",
    published: "Publicado",
    sheet: "Hoja",
    row: "Fila",
    column: "Columna",
    problem: "Problema",
    form_mistakes: "No se publicó nada: corrija estos errores en",
    no_file: "Elija un archivo para publicar.",
    already_published: "Esta versión ya está publicada; dé al formulario una versión nueva",
    indicators: "Indicadores",
    group_by: "Agrupar por",
    show: "Mostrar",
    answered: "Respondidas",
    mean: "Media",
    least: "Mínimo",
    greatest: "Máximo",
    sum: "Suma",
    download_csv: "Descargar CSV",
    map: "Mapa",
    colour_by: "Colorear por",
    located: "Envíos con ubicación",
    whole_map: "Ver todo el mapa",
    map_source: "Contorno del país: Natural Earth (dominio público).",
    upload_outline: "Subir el contorno de la oficina (GeoJSON de provincias o cantones)",
    not_geojson: "El archivo no es un GeoJSON con polígonos; no se cambió nada.",
    enrol_device: "Inscribir un dispositivo",
    role: "Rol",
    facilitator_role: "Facilitador/a (recibe solo su propio trabajo)",
    supervisor: "Supervisor/a",
    enrolled: "Inscrito",
    last_sync: "Última sincronización",
    never: "nunca",
    revoked: "revocado",
    revoke: "Revocar",
    enrolment_code: "Código de inscripción",
    valid_until: "Válido hasta",
    scan_hint: "Escanee este código con la aplicación Minga, o escriba el código",
    keep_value: "Quedarse con este valor",
    states: ["Recibida", "Con observaciones", "Aprobada", "Rechazada"],
    statuses: ["Borrador", "Completo"],
    review_history: "Historial de la revisión",
    signature: "Firma",
    signed_by_device: "firmado por el dispositivo",
    signed_by_console_user: "firmado por el usuario de consola",
    signed_by_unbound_key: "firmado por una clave que ninguna inscripción vinculó:",
    unsigned: "sin firma (anterior a las firmas)",
};

static EN: Texts = Texts {
    console: "Console",
    switch_to: "Español",
    sign_in: "Sign in",
    sign_out: "Sign out",
    name: "Name",
    password: "Password",
    wrong_password: "Wrong name or password.",
    wait_seconds: "Too many wrong passwords from this address: try again in",
    plain_http_refused: "For safety, sign in over HTTPS (or from this computer itself).",
    request_refused: "Request refused: reload the page and try again.",
    not_found: "Not found.",
    projects: "Projects",
    submissions: "Submissions",
    audit: "Audit log",
    form: "Form",
    version: "Version",
    facilitator: "Facilitator",
    device: "Device",
    created: "Created",
    updated: "Updated",
    status: "Status",
    review: "Review",
    instance: "Instance name",
    place: "Place",
    conflicts: "Has conflicts",
    invalid_on_arrival: "Flagged as invalid on arrival",
    invalid: "Invalid",
    invalid_heading: "Invalid on arrival: answers that do not fit their form version",
    invalid_explained: "Kept as it arrived. Once the answers are corrected, the flag clears.",
    why: "Why",
    any: "Any",
    from: "From",
    to: "To",
    search: "Search",
    sort: "Order",
    newest_first: "Newest first",
    oldest_first: "Oldest first",
    filter: "Filter",
    next_page: "Next page",
    first_page: "First page",
    approve_selected: "Approve the selected",
    select: "Select",
    none_found: "No submission matches.",
    answers: "Answers",
    question: "Question",
    answer: "Answer",
    history: "History",
    changes: "Changes",
    verdict: "Verdict",
    comment: "Comment",
    comments: "Comments",
    on_question: "On the question",
    whole_submission: "The whole submission",
    save_review: "Save the review",
    decided_by: "Decided by",
    when: "When",
    who: "Who",
    what: "What",
    subject: "About",
    address: "From address",
    yes: "yes",
    older: "Older",
    conflicts_heading: "Conflicts: values written at once on different devices",
    devices: "Devices",
    forms: "Forms",
    export: "Export",
    format: "Format",
    approved_only: "Only the approved submissions",
    download: "Download",
    export_hint: "A zip of each form's files: CSV laid out as ODK Central's (a main table and one per repeat), GeoJSON or JSON.",
    publish_version: "Publish a new version",
    form_file: "XLSForm file (.xlsx, .xls) or Minga form (.json)",
    form_media: "The form's media files (CSV, XML or GeoJSON lists, images, audio), if it names any",
    published: "Published",
    sheet: "Sheet",
    row: "Row",
    column: "Column",
    problem: "Problem",
    form_mistakes: "Nothing was published: correct these mistakes in",
    no_file: "Choose a file to publish.",
    already_published: "This version is already published; give the form a new version",
    indicators: "Indicators",
    group_by: "Group by",
    show: "Show",
    answered: "Answered",
    mean: "Mean",
    least: "Least",
    greatest: "Greatest",
    sum: "Sum",
    download_csv: "Download CSV",
    map: "Map",
    colour_by: "Colour by",
    located: "Located submissions",
    whole_map: "See the whole map",
    map_source: "Country outline: Natural Earth (public domain).",
    upload_outline: "Upload the office's outline (GeoJSON of provinces or cantons)",
    not_geojson: "The file is no GeoJSON with polygons; nothing was changed.",
    enrol_device: "Enrol a device",
    role: "Role",
    facilitator_role: "Facilitator (receives only her own work)",
    supervisor: "Supervisor",
    enrolled: "Enrolled",
    last_sync: "Last sync",
    never: "never",
    revoked: "revoked",
    revoke: "Revoke",
    enrolment_code: "Enrolment code",
    valid_until: "Valid until",
    scan_hint: "Scan this code with the Minga app, or type the code",
    keep_value: "Keep this value",
    states: ["Received", "Has issues", "Approved", "Rejected"],
    statuses: ["Draft", "Complete"],
    review_history: "The review's history",
    signature: "Signature",
    signed_by_device: "signed by device",
    signed_by_console_user: "signed by console user",
    signed_by_unbound_key: "signed by a key no enrolment bound:",
    unsigned: "unsigned (before signing)",
};

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_cookie_wins_over_the_browser_and_spanish_is_the_default() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::of_request(&headers), Lang::Es);
        headers.insert(
            "accept-language",
            HeaderValue::from_static("fr-FR, en-GB;q=0.8, es;q=0.5"),
        );
        assert_eq!(Lang::of_request(&headers), Lang::En);
        headers.insert("cookie", HeaderValue::from_static("minga_lang=es"));
        assert_eq!(Lang::of_request(&headers), Lang::Es);
    }

    #[test]
    fn each_language_names_the_review_states_in_its_own_words() {
        assert_eq!(Lang::Es.texts().review_state("approved"), "Aprobada");
        assert_eq!(Lang::En.texts().review_state("has_issues"), "Has issues");
        assert_eq!(Lang::Es.texts().status("complete"), "Completo");
        assert_eq!(Lang::En.texts().status("odd"), "odd");
    }

    #[test]
    fn each_language_says_who_signed_a_change() {
        let device = Signer::Device {
            device_id: "dev-1".into(),
            device_name: Some("Ana".into()),
            fingerprint: "ab".into(),
        };
        let sara = Signer::ConsoleUser {
            name: "sara".into(),
            fingerprint: "cd".into(),
        };
        let (es, en) = (Lang::Es.texts(), Lang::En.texts());
        assert_eq!(en.signed_by(&device), "signed by device Ana");
        assert_eq!(es.signed_by(&device), "firmado por el dispositivo Ana");
        assert_eq!(en.signed_by(&sara), "signed by console user sara");
        assert_eq!(
            es.signed_by(&sara),
            "firmado por el usuario de consola sara"
        );
        assert_eq!(en.signed_by(&Signer::Unsigned), "unsigned (before signing)");
        assert_eq!(
            es.signed_by(&Signer::Unsigned),
            "sin firma (anterior a las firmas)"
        );
    }
}
