"""Ecuador's provinces and all their cantons, for the province/canton cascading select.

Covers the provinces where citizen-security programmes run dialogues: the coast and the northern
border (Esmeraldas, Guayas, Manabí, El Oro, Los Ríos, Sucumbíos), plus Santa Elena, Santo Domingo
de los Tsáchilas and Pichincha. Each list is the province's complete set of cantons; a canton's
choice name is its province's prefix and its own name in ASCII.
"""

# (choice name, label) for each province, then its cantons as (choice name, label).
PROVINCES = [
    ("esmeraldas", "Esmeraldas", "esm", [
        ("esmeraldas", "Esmeraldas"),
        ("atacames", "Atacames"),
        ("eloy_alfaro", "Eloy Alfaro"),
        ("muisne", "Muisne"),
        ("quininde", "Quinindé"),
        ("rioverde", "Rioverde"),
        ("san_lorenzo", "San Lorenzo"),
    ]),
    ("guayas", "Guayas", "gua", [
        ("guayaquil", "Guayaquil"),
        ("alfredo_baquerizo_moreno", "Alfredo Baquerizo Moreno (Jujan)"),
        ("balao", "Balao"),
        ("balzar", "Balzar"),
        ("colimes", "Colimes"),
        ("daule", "Daule"),
        ("duran", "Durán"),
        ("el_empalme", "El Empalme"),
        ("el_triunfo", "El Triunfo"),
        ("general_antonio_elizalde", "General Antonio Elizalde (Bucay)"),
        ("isidro_ayora", "Isidro Ayora"),
        ("lomas_de_sargentillo", "Lomas de Sargentillo"),
        ("coronel_marcelino_mariduena", "Coronel Marcelino Maridueña"),
        ("milagro", "Milagro"),
        ("naranjal", "Naranjal"),
        ("naranjito", "Naranjito"),
        ("nobol", "Nobol"),
        ("palestina", "Palestina"),
        ("pedro_carbo", "Pedro Carbo"),
        ("playas", "Playas (General Villamil)"),
        ("salitre", "Salitre (Urbina Jado)"),
        ("samborondon", "Samborondón"),
        ("san_jacinto_de_yaguachi", "San Jacinto de Yaguachi"),
        ("santa_lucia", "Santa Lucía"),
        ("simon_bolivar", "Simón Bolívar"),
    ]),
    ("manabi", "Manabí", "man", [
        ("portoviejo", "Portoviejo"),
        ("bolivar", "Bolívar"),
        ("chone", "Chone"),
        ("el_carmen", "El Carmen"),
        ("flavio_alfaro", "Flavio Alfaro"),
        ("jama", "Jama"),
        ("jaramijo", "Jaramijó"),
        ("jipijapa", "Jipijapa"),
        ("junin", "Junín"),
        ("manta", "Manta"),
        ("montecristi", "Montecristi"),
        ("olmedo", "Olmedo"),
        ("pajan", "Paján"),
        ("pedernales", "Pedernales"),
        ("pichincha", "Pichincha"),
        ("puerto_lopez", "Puerto López"),
        ("rocafuerte", "Rocafuerte"),
        ("san_vicente", "San Vicente"),
        ("santa_ana", "Santa Ana"),
        ("sucre", "Sucre"),
        ("tosagua", "Tosagua"),
        ("veinticuatro_de_mayo", "24 de Mayo"),
    ]),
    ("el_oro", "El Oro", "oro", [
        ("machala", "Machala"),
        ("arenillas", "Arenillas"),
        ("atahualpa", "Atahualpa"),
        ("balsas", "Balsas"),
        ("chilla", "Chilla"),
        ("el_guabo", "El Guabo"),
        ("huaquillas", "Huaquillas"),
        ("las_lajas", "Las Lajas"),
        ("marcabeli", "Marcabelí"),
        ("pasaje", "Pasaje"),
        ("pinas", "Piñas"),
        ("portovelo", "Portovelo"),
        ("santa_rosa", "Santa Rosa"),
        ("zaruma", "Zaruma"),
    ]),
    ("los_rios", "Los Ríos", "rio", [
        ("babahoyo", "Babahoyo"),
        ("baba", "Baba"),
        ("buena_fe", "Buena Fe"),
        ("mocache", "Mocache"),
        ("montalvo", "Montalvo"),
        ("palenque", "Palenque"),
        ("puebloviejo", "Puebloviejo"),
        ("quevedo", "Quevedo"),
        ("quinsaloma", "Quinsaloma"),
        ("urdaneta", "Urdaneta"),
        ("valencia", "Valencia"),
        ("ventanas", "Ventanas"),
        ("vinces", "Vinces"),
    ]),
    ("sucumbios", "Sucumbíos", "suc", [
        ("lago_agrio", "Lago Agrio (Nueva Loja)"),
        ("cascales", "Cascales"),
        ("cuyabeno", "Cuyabeno"),
        ("gonzalo_pizarro", "Gonzalo Pizarro"),
        ("putumayo", "Putumayo"),
        ("shushufindi", "Shushufindi"),
        ("sucumbios", "Sucumbíos"),
    ]),
    ("santa_elena", "Santa Elena", "ste", [
        ("santa_elena", "Santa Elena"),
        ("la_libertad", "La Libertad"),
        ("salinas", "Salinas"),
    ]),
    ("santo_domingo", "Santo Domingo de los Tsáchilas", "sdt", [
        ("santo_domingo", "Santo Domingo"),
        ("la_concordia", "La Concordia"),
    ]),
    ("pichincha", "Pichincha", "pic", [
        ("quito", "Quito"),
        ("cayambe", "Cayambe"),
        ("mejia", "Mejía"),
        ("pedro_moncayo", "Pedro Moncayo"),
        ("pedro_vicente_maldonado", "Pedro Vicente Maldonado"),
        ("puerto_quito", "Puerto Quito"),
        ("ruminahui", "Rumiñahui"),
        ("san_miguel_de_los_bancos", "San Miguel de los Bancos"),
    ]),
]


def province_rows():
    """Choice rows (list, name, label es, label en) for the provinces."""
    return [("province", name, label, label, None) for name, label, _, _ in PROVINCES]


def canton_rows():
    """Choice rows for the cantons, each with its province in the filter column."""
    return [
        ("canton", f"{prefix}_{name}", label, label, province)
        for province, _, prefix, cantons in PROVINCES
        for name, label in cantons
    ]
