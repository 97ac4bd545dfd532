"""Writes Minga's two built-in forms as XLSForm workbooks a programme can open and adapt:
stakeholder_dialogue.xlsx and community_safety_assessment.xlsx, in Spanish and English.

The forms are data here (rows of the survey, choices and settings sheets); run generate.sh to
rewrite the .xlsx files after changing them. Needs openpyxl.
"""

import datetime
import pathlib
import sys

import openpyxl
from openpyxl.styles import Font

from cantons import canton_rows, province_rows

ES, EN = "Español (es)", "English (en)"
VERSION = "2026112901"

SURVEY_COLUMNS = [
    "type", "name", f"label::{ES}", f"label::{EN}", f"hint::{ES}", f"hint::{EN}",
    "required", f"required_message::{ES}", f"required_message::{EN}", "relevant",
    "constraint", f"constraint_message::{ES}", f"constraint_message::{EN}", "appearance",
    "choice_filter", "calculation", "default",
]
CHOICES_COLUMNS = ["list_name", "name", f"label::{ES}", f"label::{EN}", "province"]
SETTINGS_COLUMNS = ["form_title", "form_id", "version", "default_language", "instance_name"]


def q(type_, name, es=None, en=None, hint=None, required=False, relevant=None,
      constraint=None, message=None, appearance=None, choice_filter=None, calculation=None,
      default=None):
    """One survey row. `hint` and `message` are (Spanish, English) pairs."""
    hint = hint or (None, None)
    message = message or (None, None)
    required_message = (
        ("Esta pregunta es obligatoria.", "This question is required.") if required else (None, None)
    )
    return [
        type_, name, es, en, hint[0], hint[1], "yes" if required else None,
        required_message[0], required_message[1], relevant, constraint, message[0], message[1],
        appearance, choice_filter, calculation, default,
    ]


def end(kind):
    return [f"end_{kind}"] + [None] * (len(SURVEY_COLUMNS) - 1)


def metadata():
    return [q("start", "start"), q("end", "end"), q("today", "today"),
            q("deviceid", "deviceid"), q("username", "username")]


def choices(list_name, options):
    """Choice rows of one list: options are (name, Spanish label, English label)."""
    return [(list_name, name, es, en, None) for name, es, en in options]


NOT_IN_FUTURE = (". <= today()",
                 ("La fecha no puede estar en el futuro.", "The date cannot be in the future."))


def place_rows():
    """Province and canton (cascading), parish, and the GPS point."""
    return [
        q("select_one province", "province", "Provincia", "Province", required=True,
          appearance="minimal"),
        q("select_one canton", "canton", "Cantón", "Canton", required=True,
          appearance="minimal", choice_filter="province=${province}",
          hint=("Solo se muestran los cantones de la provincia elegida.",
                "Only the cantons of the chosen province are shown.")),
        q("text", "parish", "Parroquia", "Parish", required=True),
        q("text", "community", "Barrio, recinto o comunidad", "Neighbourhood or community"),
        q("geopoint", "location", "Ubicación (GPS)", "Location (GPS)",
          hint=("Tome el punto en el lugar, con buena precisión.",
                "Take the point on site, with good accuracy.")),
    ]


GEOGRAPHY = province_rows() + canton_rows()

GENDER = [
    ("female", "Mujer", "Woman"),
    ("male", "Hombre", "Man"),
    ("non_binary", "No binario / otra identidad", "Non-binary / other identity"),
    ("no_answer", "Prefiere no decir", "Prefers not to say"),
]
YES_NO = [("yes", "Sí", "Yes"), ("no", "No", "No")]


def stakeholder_dialogue():
    survey = metadata() + [
        q("date", "dialogue_date", "Fecha del diálogo", "Date of the dialogue", required=True,
          constraint=NOT_IN_FUTURE[0], message=NOT_IN_FUTURE[1]),
        q("begin_group", "place", "Lugar", "Place"),
        *place_rows(),
        end("group"),
        q("text", "convening_institution", "Institución convocante", "Convening institution",
          required=True, hint=("Por ejemplo: GAD municipal, Gobernación, Policía Nacional.",
                               "For example: municipal government, governorate, National Police.")),
        q("select_one dialogue_type", "dialogue_type", "Tipo de diálogo", "Type of dialogue",
          required=True),
        q("text", "dialogue_type_other", "Otro tipo de diálogo", "Other type of dialogue",
          required=True, relevant="${dialogue_type} = 'other'"),
        q("begin_repeat", "participants", "Participantes", "Participants"),
        q("select_one sector", "sector", "Sector", "Sector", required=True),
        q("text", "organisation", "Organización", "Organisation"),
        q("select_one gender", "gender", "Género", "Gender", required=True),
        q("select_one age_range", "age_range", "Rango de edad", "Age range", required=True),
        q("text", "role", "Rol o cargo", "Role or position"),
        end("repeat"),
        q("calculate", "participant_count", calculation="count(${participants})"),
        q("select_multiple concerns", "concerns", "Preocupaciones de seguridad planteadas",
          "Security concerns raised", required=True,
          constraint="not(selected(., 'none') and count-selected(.) > 1)",
          message=("'Ninguna' no se puede combinar con otras opciones.",
                   "'None' cannot be combined with other options.")),
        q("text", "concerns_other", "Otras preocupaciones", "Other concerns", required=True,
          relevant="selected(${concerns}, 'other')"),
        q("begin_repeat", "agreements", "Acuerdos", "Agreements"),
        q("text", "agreement_what", "¿Qué se acordó?", "What was agreed?", required=True,
          appearance="multiline"),
        q("text", "agreement_responsible", "Responsable", "Who is responsible", required=True),
        q("date", "agreement_due", "Fecha límite", "By when",
          constraint=". >= ${dialogue_date}",
          message=("La fecha límite no puede ser anterior al diálogo.",
                   "The deadline cannot be before the dialogue.")),
        end("repeat"),
        q("select_one yes_no", "follow_up", "¿Se acordó una reunión de seguimiento?",
          "Was a follow-up meeting agreed?", required=True),
        q("date", "follow_up_date", "Fecha del seguimiento", "Date of the follow-up",
          required=True, relevant="${follow_up} = 'yes'",
          constraint=". >= ${dialogue_date}",
          message=("El seguimiento no puede ser anterior al diálogo.",
                   "The follow-up cannot be before the dialogue.")),
        q("text", "notes", "Notas del diálogo", "Notes of the dialogue", appearance="multiline",
          hint=("Lo que se dijo, sin nombres de personas que puedan correr riesgo.",
                "What was said, without names of people who could be put at risk.")),
    ]
    lists = GEOGRAPHY + choices("dialogue_type", [
        ("security_roundtable", "Mesa de seguridad ciudadana", "Citizen security roundtable"),
        ("cantonal_council", "Consejo cantonal de seguridad ciudadana",
         "Cantonal citizen security council"),
        ("community_assembly", "Asamblea comunitaria", "Community assembly"),
        ("bilateral_meeting", "Reunión bilateral", "Bilateral meeting"),
        ("workshop", "Taller", "Workshop"),
        ("other", "Otro", "Other"),
    ]) + choices("sector", [
        ("national_government", "Gobierno nacional", "National government"),
        ("local_government", "Gobierno local (GAD)", "Local government"),
        ("police", "Policía Nacional", "National Police"),
        ("armed_forces", "Fuerzas Armadas", "Armed forces"),
        ("justice", "Justicia (Fiscalía, Judicatura, Defensoría)",
         "Justice (prosecutors, courts, public defence)"),
        ("civil_society", "Sociedad civil", "Civil society"),
        ("private_sector", "Sector privado", "Private sector"),
        ("community", "Comunidad / dirigencia barrial", "Community / neighbourhood leaders"),
        ("youth", "Organizaciones juveniles", "Youth organisations"),
        ("women", "Organizaciones de mujeres", "Women's groups"),
        ("academia", "Academia", "Academia"),
        ("faith", "Iglesias y organizaciones de fe", "Churches and faith groups"),
        ("international", "Cooperación internacional", "International cooperation"),
    ]) + choices("gender", GENDER) + choices("age_range", [
        ("under_18", "Menor de 18", "Under 18"),
        ("18_29", "18 a 29", "18 to 29"),
        ("30_44", "30 a 44", "30 to 44"),
        ("45_59", "45 a 59", "45 to 59"),
        ("60_plus", "60 o más", "60 or over"),
    ]) + choices("concerns", [
        ("extortion", "Extorsión (vacunas)", "Extortion"),
        ("drug_trafficking", "Narcotráfico y microtráfico", "Drug trafficking and street dealing"),
        ("recruitment_minors", "Reclutamiento de niñas, niños y adolescentes",
         "Recruitment of minors"),
        ("homicide", "Homicidios y sicariato", "Homicide and contract killing"),
        ("domestic_gender_violence", "Violencia intrafamiliar y de género",
         "Domestic and gender violence"),
        ("robbery", "Robos y asaltos", "Robbery"),
        ("prison_violence", "Violencia relacionada con cárceles", "Prison-related violence"),
        ("lighting_public_space", "Falta de alumbrado y de espacio público",
         "Lack of lighting and public space"),
        ("kidnapping", "Secuestro", "Kidnapping"),
        ("organised_crime", "Grupos de delincuencia organizada", "Organised criminal groups"),
        ("illegal_mining", "Minería ilegal", "Illegal mining"),
        ("other", "Otra", "Other"),
        ("none", "Ninguna", "None"),
    ]) + choices("yes_no", YES_NO)
    settings = ["Diálogo con actores locales", "minga_stakeholder_dialogue", VERSION, ES,
                "concat(${dialogue_date}, ' ', ${parish})"]
    return survey, lists, settings


INCIDENTS = [
    ("robbery", "Robo o asalto", "Robbery or mugging"),
    ("burglary", "Robo a vivienda", "Burglary"),
    ("extortion", "Extorsión (vacunas)", "Extortion"),
    ("homicide", "Homicidio o sicariato", "Homicide or contract killing"),
    ("drug_sales", "Venta de drogas", "Drug dealing"),
    ("domestic_violence", "Violencia intrafamiliar", "Domestic violence"),
    ("sexual_violence", "Violencia sexual", "Sexual violence"),
    ("recruitment_minors", "Reclutamiento de menores", "Recruitment of minors"),
    ("gang_fights", "Enfrentamientos entre bandas", "Fights between gangs"),
    ("vandalism", "Vandalismo", "Vandalism"),
]


def incident_counts():
    """One count per incident, asked only when that incident was ticked."""
    return [
        q("integer", f"times_{name}", f"¿Cuántas veces? {es}", f"How many times? {en}",
          required=True, relevant=f"selected(${{incidents}}, '{name}')",
          constraint=". >= 0 and . <= 1000",
          message=("Un número entre 0 y 1000.", "A number from 0 to 1000."))
        for name, es, en in INCIDENTS
    ]


def priority(rank, earlier):
    """The community's priority number `rank`, different from the ones chosen before it."""
    different = " and ".join(f". != ${{priority_{n}}}" for n in earlier) or None
    return q("select_one priorities", f"priority_{rank}", f"Prioridad {rank}", f"Priority {rank}",
             required=True, constraint=different,
             message=("Ya eligió esta prioridad.", "You already chose this priority.")
             if different else None)


def community_safety_assessment():
    scale = "likert"
    survey = metadata() + [
        q("note", "introduction",
          "Esta evaluación es confidencial y voluntaria. Puede dejar de responder cuando quiera.",
          "This assessment is confidential and voluntary. You may stop answering at any time."),
        q("select_one yes_no", "consent", "¿Acepta participar?", "Do you agree to take part?",
          required=True),
        q("note", "no_consent", "Gracias por su tiempo. La entrevista termina aquí.",
          "Thank you for your time. The interview ends here.", relevant="${consent} = 'no'"),
        q("begin_group", "assessment", "Evaluación", "Assessment", relevant="${consent} = 'yes'"),
        q("date", "interview_date", "Fecha de la entrevista", "Date of the interview",
          required=True, constraint=NOT_IN_FUTURE[0], message=NOT_IN_FUTURE[1]),
        *place_rows(),
        q("integer", "respondent_age", "Edad de la persona entrevistada", "Respondent's age",
          required=True, constraint=". >= 18 and . <= 110",
          message=("La edad debe estar entre 18 y 110 años.", "Age must be between 18 and 110.")),
        q("select_one gender", "respondent_gender", "Género", "Gender", required=True),
        q("integer", "years_in_community", "Años viviendo en la comunidad",
          "Years living in the community",
          constraint=". >= 0 and . <= ${respondent_age}",
          message=("No puede ser negativo ni mayor que la edad.",
                   "Cannot be negative or more than the age.")),
        q("begin_group", "perception", "Percepción de seguridad", "Perceived safety"),
        q("select_one safety_scale", "safety_day", "¿Qué tan seguro se siente en su barrio de día?",
          "How safe do you feel in your neighbourhood by day?", required=True, appearance=scale),
        q("select_one safety_scale", "safety_night",
          "¿Qué tan seguro se siente en su barrio de noche?",
          "How safe do you feel in your neighbourhood at night?", required=True,
          appearance=scale),
        q("select_one change", "change_six_months",
          "En los últimos seis meses, la seguridad en su barrio…",
          "Over the last six months, safety in your neighbourhood has…", required=True),
        end("group"),
        q("begin_group", "incidents_group", "Incidentes", "Incidents"),
        q("select_multiple incidents", "incidents",
          "¿Qué hechos ha presenciado en su barrio en los últimos tres meses?",
          "What have you witnessed in your neighbourhood in the last three months?",
          required=True,
          constraint="not(selected(., 'none') and count-selected(.) > 1)",
          message=("'Ninguno' no se puede combinar con otras opciones.",
                   "'None' cannot be combined with other options.")),
        *incident_counts(),
        end("group"),
        q("select_multiple risk_factors", "risk_factors", "Factores de riesgo en el barrio",
          "Risk factors in the neighbourhood", required=True),
        q("select_multiple protective_factors", "protective_factors",
          "Factores de protección en el barrio", "Protective factors in the neighbourhood",
          required=True),
        q("select_one yes_no_dk", "alarm_exists", "¿Existe una alarma comunitaria?",
          "Is there a community alarm?", required=True),
        q("select_one works", "alarm_works", "¿Funciona la alarma comunitaria?",
          "Does the community alarm work?", required=True,
          relevant="${alarm_exists} = 'yes'"),
        q("select_one yes_no_dk", "organisation_exists",
          "¿Existe una organización barrial o comité de seguridad?",
          "Is there a neighbourhood organisation or safety committee?", required=True),
        q("select_one works", "organisation_works", "¿Funciona esa organización?",
          "Does that organisation work?", required=True,
          relevant="${organisation_exists} = 'yes'"),
        q("begin_group", "trust", "Confianza en las instituciones", "Trust in institutions",
          appearance="field-list"),
        q("select_one trust", "trust_police", "Policía Nacional", "National Police", required=True),
        q("select_one trust", "trust_justice", "Justicia (Fiscalía y jueces)",
          "Justice (prosecutors and judges)", required=True),
        q("select_one trust", "trust_local_government", "Gobierno local (GAD)", "Local government",
          required=True),
        end("group"),
        q("select_multiple services", "services",
          "¿A cuáles de estos servicios puede llegar en menos de 30 minutos?",
          "Which of these services can you reach in under 30 minutes?", required=True,
          constraint="not(selected(., 'none') and count-selected(.) > 1)",
          message=("'Ninguno' no se puede combinar con otras opciones.",
                   "'None' cannot be combined with other options.")),
        q("begin_group", "priorities_group", "Prioridades de la comunidad",
          "The community's priorities",
          hint=("Las tres más importantes, en orden.", "The three most important, in order.")),
        priority(1, []),
        priority(2, [1]),
        priority(3, [1, 2]),
        end("group"),
        q("text", "comments", "Comentarios", "Comments", appearance="multiline"),
        end("group"),
    ]
    lists = GEOGRAPHY + choices("yes_no", YES_NO) + choices("yes_no_dk", YES_NO + [
        ("dont_know", "No sabe", "Don't know"),
    ]) + choices("gender", GENDER) + choices("safety_scale", [
        ("very_unsafe", "Muy inseguro", "Very unsafe"),
        ("unsafe", "Inseguro", "Unsafe"),
        ("neither", "Ni seguro ni inseguro", "Neither safe nor unsafe"),
        ("safe", "Seguro", "Safe"),
        ("very_safe", "Muy seguro", "Very safe"),
    ]) + choices("change", [
        ("much_worse", "Empeoró mucho", "Got much worse"),
        ("worse", "Empeoró", "Got worse"),
        ("same", "Sigue igual", "Stayed the same"),
        ("better", "Mejoró", "Got better"),
        ("much_better", "Mejoró mucho", "Got much better"),
        ("dont_know", "No sabe", "Don't know"),
    ]) + choices("incidents", INCIDENTS + [
        ("none", "Ninguno", "None"),
    ]) + choices("risk_factors", [
        ("unemployment", "Desempleo", "Unemployment"),
        ("school_dropout", "Abandono escolar", "School dropout"),
        ("drug_use", "Consumo de drogas", "Drug use"),
        ("poor_lighting", "Poco alumbrado", "Poor lighting"),
        ("abandoned_spaces", "Espacios abandonados", "Abandoned spaces"),
        ("gang_presence", "Presencia de bandas", "Gang presence"),
        ("alcohol_sales", "Venta de alcohol sin control", "Unregulated alcohol sales"),
        ("little_police", "Poca presencia policial", "Little police presence"),
        ("other", "Otro", "Other"),
    ]) + choices("protective_factors", [
        ("organised_neighbours", "Vecinos organizados", "Organised neighbours"),
        ("sports_culture", "Espacios deportivos y culturales", "Sports and cultural spaces"),
        ("schools", "Escuelas y colegios activos", "Active schools"),
        ("lighting", "Buen alumbrado", "Good lighting"),
        ("police_presence", "Presencia policial (UPC)", "Police presence (community post)"),
        ("youth_programmes", "Programas para jóvenes", "Youth programmes"),
        ("faith_groups", "Iglesias y grupos de fe", "Churches and faith groups"),
        ("trust_between_neighbours", "Confianza entre vecinos", "Trust between neighbours"),
        ("other", "Otro", "Other"),
    ]) + choices("works", [
        ("works_well", "Funciona bien", "Works well"),
        ("works_partly", "Funciona a medias", "Works partly"),
        ("does_not_work", "No funciona", "Does not work"),
        ("dont_know", "No sabe", "Don't know"),
    ]) + choices("trust", [
        ("none", "Ninguna confianza", "No trust"),
        ("little", "Poca confianza", "Little trust"),
        ("some", "Algo de confianza", "Some trust"),
        ("a_lot", "Mucha confianza", "A lot of trust"),
        ("dont_know", "No sabe", "Don't know"),
    ]) + choices("services", [
        ("health", "Centro de salud", "Health centre"),
        ("school", "Escuela o colegio", "School"),
        ("police_post", "Unidad de Policía Comunitaria (UPC)", "Community police post"),
        ("prosecutor", "Fiscalía", "Prosecutor's office"),
        ("psychosocial", "Atención psicosocial y a víctimas", "Psychosocial and victim support"),
        ("public_transport", "Transporte público", "Public transport"),
        ("none", "Ninguno", "None"),
    ]) + choices("priorities", [
        ("lighting", "Alumbrado público", "Street lighting"),
        ("police_presence", "Más presencia policial", "More police presence"),
        ("youth_opportunities", "Oportunidades para jóvenes", "Opportunities for young people"),
        ("employment", "Empleo", "Jobs"),
        ("public_space", "Recuperar espacios públicos", "Reclaiming public spaces"),
        ("drug_prevention", "Prevención del consumo de drogas", "Drug-use prevention"),
        ("violence_prevention", "Prevención de la violencia de género",
         "Gender-violence prevention"),
        ("community_organisation", "Organización comunitaria", "Community organisation"),
        ("justice_access", "Acceso a la justicia", "Access to justice"),
    ])
    settings = ["Evaluación comunitaria de seguridad", "minga_community_safety_assessment",
                VERSION, ES, "concat(${interview_date}, ' ', ${parish})"]
    return survey, lists, settings


def write(path, survey, lists, settings):
    book = openpyxl.Workbook()
    # Fixed document dates, so that regenerating an unchanged form changes no metadata.
    moment = datetime.datetime(2026, 11, 29)
    book.properties.created = book.properties.modified = moment
    for title, header, rows in [("survey", SURVEY_COLUMNS, survey),
                                ("choices", CHOICES_COLUMNS, lists),
                                ("settings", SETTINGS_COLUMNS, [settings])]:
        sheet = book.active if title == "survey" else book.create_sheet()
        sheet.title = title
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            width = max(len(str(c.value or "")) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(width, 8), 60)
    book.save(path)


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent)
    write(out / "stakeholder_dialogue.xlsx", *stakeholder_dialogue())
    write(out / "community_safety_assessment.xlsx", *community_safety_assessment())


if __name__ == "__main__":
    main()
