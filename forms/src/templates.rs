//! The two built-in forms, in Spanish and English: a stakeholder dialogue record and a community
//! safety assessment. They are XLSForm workbooks (`forms/templates/*.xlsx`, written by
//! `generate.py` there) built into the library, so an app needs no file to offer them and a
//! programme can take the same workbook, open it in a spreadsheet and adapt it.

use crate::model::Form;
use crate::xlsform;

/// A built-in form: its workbook, as a programme would download it.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// The form id its settings sheet gives.
    pub id: &'static str,
    pub file_name: &'static str,
    /// The `.xlsx` file itself.
    pub xlsx: &'static [u8],
}

impl Template {
    /// The form, imported from the workbook. Costs one import (a few milliseconds).
    pub fn form(&self) -> Form {
        xlsform::import(self.xlsx, self.file_name)
            .unwrap_or_else(|errors| panic!("built-in form {} does not import: {errors}", self.id))
    }
}

pub const STAKEHOLDER_DIALOGUE: Template = Template {
    id: "minga_stakeholder_dialogue",
    file_name: "stakeholder_dialogue.xlsx",
    xlsx: include_bytes!("../templates/stakeholder_dialogue.xlsx"),
};

pub const COMMUNITY_SAFETY_ASSESSMENT: Template = Template {
    id: "minga_community_safety_assessment",
    file_name: "community_safety_assessment.xlsx",
    xlsx: include_bytes!("../templates/community_safety_assessment.xlsx"),
};

/// Every built-in form's workbook.
pub const ALL: [Template; 2] = [STAKEHOLDER_DIALOGUE, COMMUNITY_SAFETY_ASSESSMENT];

/// The stakeholder dialogue record: date, place, convening institution, participants,
/// security concerns raised, agreements, follow-up and notes.
pub fn stakeholder_dialogue() -> Form {
    STAKEHOLDER_DIALOGUE.form()
}

/// The community safety assessment: consent, place, perceived safety, incidents, risk and
/// protective factors, community organisation, trust in institutions, services, priorities.
pub fn community_safety_assessment() -> Form {
    COMMUNITY_SAFETY_ASSESSMENT.form()
}

/// Every built-in form, imported.
pub fn all() -> Vec<Form> {
    ALL.iter().map(Template::form).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_imports_with_its_id_and_both_languages() {
        for template in ALL {
            let form = template.form();
            assert_eq!(form.id, template.id);
            assert_eq!(form.languages, ["Español (es)", "English (en)"]);
            assert_eq!(form.default_language.as_deref(), Some("Español (es)"));
            assert!(!form.version.is_empty() && form.instance_name.is_some());
        }
        assert_eq!(all().len(), 2);
    }
}
