"""Invented words for synthetic charts: names, places and note phrases. No real people, clinics or pharmacies.

Given and family names are combined at random, so no generated person corresponds to anyone real; clinics,
pharmacies and streets are made up, and every phone number is in the 555-0100..555-0199 range reserved for
fiction.
"""

from __future__ import annotations

GIVEN_NAMES_FEMALE: tuple[str, ...] = (
    "Ada", "Amara", "Anika", "Aria", "Beatrix", "Bianca", "Camila", "Celeste", "Dalia", "Delphine", "Elena",
    "Elise", "Esme", "Fatima", "Freya", "Gemma", "Hana", "Imani", "Ines", "Isla", "Jada", "Junie", "Kaia",
    "Keiko", "Lark", "Leona", "Lucia", "Mabel", "Marisol", "Mei", "Mira", "Nadia", "Noor", "Odette", "Opal",
    "Priya", "Quinn", "Rhea", "Rosalind", "Sabine", "Selma", "Soraya", "Tamsin", "Thea", "Uma", "Vera",
    "Wren", "Xiomara", "Yara", "Zadie",
)
GIVEN_NAMES_MALE: tuple[str, ...] = (
    "Abel", "Amos", "Anders", "Arjun", "Basil", "Bram", "Caleb", "Cyrus", "Dario", "Desmond", "Eamon",
    "Elias", "Emeka", "Felix", "Gideon", "Hamza", "Hiro", "Ignacio", "Ivo", "Jasper", "Jonah", "Kai",
    "Kenji", "Lars", "Leon", "Luca", "Malik", "Mateo", "Milo", "Nikhil", "Noel", "Omar", "Orrin", "Pablo",
    "Quentin", "Rafael", "Remy", "Rohan", "Silas", "Soren", "Tariq", "Teo", "Ulric", "Vikram", "Wendell",
    "Xavier", "Yusuf", "Zane", "Ezra", "Idris",
)
GIVEN_NAMES_NEUTRAL: tuple[str, ...] = (
    "Alex", "Avery", "Blake", "Casey", "Devon", "Eden", "Emerson", "Finley", "Harper", "Jordan", "Kendall",
    "Logan", "Morgan", "Parker", "Reese", "Riley", "Rowan", "Sage", "Skyler", "Taylor",
)
FAMILY_NAMES: tuple[str, ...] = (
    "Abernathy", "Achterberg", "Adeyemi", "Albrecht", "Alcott", "Amberly", "Ashdown", "Bancroft", "Barrowe",
    "Belcourt", "Blackwood", "Brightwater", "Calloway", "Castellano", "Chandrapal", "Colquitt", "Cordova",
    "Dalgleish", "Delacroix", "Devereux", "Draycott", "Easterbrook", "Eldridge", "Falconer", "Farrowe",
    "Fenwick", "Galloway", "Greymont", "Halloran", "Hartigan", "Hawthorne", "Holloway", "Ishikawa-Lane",
    "Iverson", "Jablonski", "Jorgensen", "Kavanagh", "Kestrel", "Kowalczyk", "Lachance", "Lindqvist",
    "Llewellyn", "Lockridge", "Marchetti", "Merriweather", "Montclair", "Nakamura-Reyes", "Northcott",
    "Nwachukwu", "Oakhurst", "Okafor", "Ostrander", "Pemberton", "Petrakis", "Quartermaine", "Quillfeather",
    "Radcliffe", "Ravensworth", "Rosenthal", "Saltonstall", "Santangelo", "Sokolova", "Stonebridge",
    "Sutherland", "Tanaka-Moss", "Thistlewood", "Trevelyan", "Underhill", "Valcourt", "Vasquez-Hale",
    "Vanterpool", "Wainwright", "Westbrook", "Whitlock", "Winterbourne", "Yardley", "Yoshida-Park",
    "Zabriskie", "Zelinsky", "Ashgrove", "Brennock", "Carrowmore", "Dunleavy", "Ellingham", "Fairweather",
    "Goldhaber", "Hollingsworth", "Kilbride", "Marlowe", "Penhallow", "Rathbone", "Seabrook", "Tremaine",
    "Umberland", "Vinterberg", "Wexford", "Ambrose-Kell", "Bhattacharjee-Lowe", "Castellane", "Duquesne",
)
EMERGENCY_CONTACT_RELATIONS: tuple[str, ...] = (
    "spouse", "partner", "mother", "father", "sister", "brother", "friend", "daughter", "son", "aunt", "roommate",
)

# Prescriber and nurse names are fixed lists so that the demo logins read the same on every run.
PRESCRIBER_NAMES: tuple[tuple[str, str], ...] = (
    ("Maya", "Rivera"), ("Tobias", "Lindgren"), ("Amani", "Okonkwo"), ("Priya", "Venkataraman"),
    ("Henrik", "Castellanos"), ("Leila", "Farahani"), ("Darius", "Whitmore"), ("Sofia", "Marchand"),
    ("Kwame", "Asante-Reid"), ("Ingrid", "Solberg"), ("Rafael", "Domingo"), ("Naomi", "Feldstein"),
)
NURSE_NAMES: tuple[tuple[str, str], ...] = (
    ("Jordan", "Ellery"), ("Grace", "Nakashima"), ("Marcus", "Delvecchio"), ("Talia", "Brennan"),
    ("Owen", "Achebe"), ("Ruth", "Kowalski"), ("Samira", "Haddad"), ("Caleb", "Fontaine"), ("Lena", "Voss"),
    ("Theo", "Abernathy"), ("Rosa", "Quintero"), ("Miles", "Ashford"),
)
SUPERVISOR_NAMES: tuple[tuple[str, str, str], ...] = (
    ("Eleanor", "Vance-Okoye", "MD"),
    ("Victor", "Halvorsen", "LCSW"),
)
ADMIN_NAME: tuple[str, str] = ("Sam", "Pellegrino")

TEAM_NAMES: tuple[str, ...] = (
    "Harbor", "Summit", "Cedar", "Meadow", "Ridge", "Willow", "Lantern", "Compass", "Juniper", "Beacon",
    "Aspen", "Tidewater", "Orchard", "Granite", "Heron", "Prairie", "Sequoia", "Birch", "Falcon", "Maple",
    "Cove", "Alder", "Horizon", "Kestrel", "Linden", "Mesa", "North Star", "Pine", "Quarry", "Redwood",
    "Sparrow", "Thistle", "Upland", "Valley", "Wildflower", "Yarrow", "Zephyr", "Bluebell", "Cypress", "Dune",
)

# States the program's prescribers hold licenses in; telehealth across state lines needs a license there.
LICENSE_STATES: tuple[str, ...] = ("NY", "NJ", "CT", "PA", "MA", "RI", "VT", "NH", "ME", "MD", "DE", "VA", "OH")
AREA_CODES: dict[str, tuple[str, ...]] = {
    "NY": ("212", "518", "585", "716"), "NJ": ("201", "609", "973"), "CT": ("203", "860"),
    "PA": ("215", "412", "717"), "MA": ("617", "413", "508"), "RI": ("401",), "VT": ("802",),
    "NH": ("603",), "ME": ("207",), "MD": ("301", "410"), "DE": ("302",), "VA": ("703", "804"),
    "OH": ("216", "614", "513"),
}
TOWNS: dict[str, tuple[str, ...]] = {
    "NY": ("Albany", "Rochester", "Kingston"), "NJ": ("Trenton", "Montclair"), "CT": ("Hartford", "Mystic"),
    "PA": ("Lancaster", "Erie"), "MA": ("Worcester", "Salem"), "RI": ("Newport",), "VT": ("Burlington",),
    "NH": ("Concord",), "ME": ("Bangor",), "MD": ("Frederick",), "DE": ("Dover",), "VA": ("Roanoke",),
    "OH": ("Dayton", "Akron"),
}
PHARMACY_NAMES: tuple[str, ...] = (
    "Riverbend Community Pharmacy", "Lanternlight Apothecary", "Maple Row Drug", "Old Mill Pharmacy",
    "Bluestone Family Pharmacy", "Crescent Health Pharmacy", "Hearthside Drug & Wellness",
    "Quarry Hill Pharmacy", "Tidewater Prescription Center", "Greenfield Corner Pharmacy",
)
STREET_NAMES: tuple[str, ...] = (
    "Maple St", "Orchard Ave", "Mill Rd", "Harbor Way", "Cedar Ln", "Elm Ct", "Summit Blvd", "Quarry Rd",
)
PRIMARY_CARE_CLINICS: tuple[str, ...] = (
    "Lakeside Family Health", "Stonebridge Primary Care", "Willow Creek Medical Group", "Northgate Community Clinic",
    "Pinecrest Family Medicine", "Brookhaven Internal Medicine", "Sunfield Health Partners",
)
PRIMARY_CARE_CLINICIANS: tuple[str, ...] = (
    "Dr. Alana Whitcomb", "Dr. Benedikt Sorensen", "Dr. Chioma Eze-Harlan", "Dr. Gustavo Marquand",
    "Dr. Helena Brightman", "Dr. Ravi Dattani-Cole", "Lauren Pryce, NP", "Dr. Wendell Osei", "Marta Lindahl, PA-C",
)

CRISIS_WARNING_SIGNS: tuple[str, ...] = (
    "withdrawing from family and skipping meals", "not sleeping for two nights or more",
    "urges to drink after arguments", "replaying trauma memories at night", "racing thoughts and spending sprees",
    "isolating in bedroom, missing work", "cravings after payday", "feeling like a burden",
)
CRISIS_COPING: tuple[str, ...] = (
    "walk the dog, call sister", "box breathing and a cold shower", "attend an evening recovery meeting",
    "grounding 5-4-3-2-1, music playlist", "text sponsor, go to a coffee shop", "journal, then call a friend",
)
CRISIS_MEANS_SAFETY: tuple[str, ...] = (
    "medications kept by partner; weekly pill organizer", "no firearms in home (confirmed)",
    "firearm stored off-site with brother", "alcohol removed from home", "only 7-day supply kept at home",
)

ASSESSMENT_PHRASES_BETTER: tuple[str, ...] = (
    "Reports mood 'better most days'; sleeping 6-7 h.", "Engaged in groups; energy improving.",
    "Less worry at work; using coping skills.", "Fewer cravings; attending meetings three times a week.",
    "Returned to part-time work; appetite normal.",
)
ASSESSMENT_PHRASES_SAME: tuple[str, ...] = (
    "Mood unchanged; ongoing stress with housing.", "Partial response; still low motivation.",
    "Sleep fragmented; worry persists in evenings.", "Mixed week; some group attendance.",
)
ASSESSMENT_PHRASES_WORSE: tuple[str, ...] = (
    "Mood lower after family conflict; more isolative.", "Increased anxiety and poor sleep this week.",
    "Lapse with alcohol over weekend; re-engaged.", "Hopelessness increased; safety plan reviewed.",
)
SIDE_EFFECT_SYMPTOMS_BY_CLASS: dict[str, tuple[str, ...]] = {
    "default": ("nausea", "headache", "dizziness", "fatigue", "dry mouth", "insomnia"),
    "antidepressant": ("nausea", "headache", "sexual dysfunction", "insomnia", "sweating", "GI upset", "jitteriness"),
    "antipsychotic": ("sedation", "weight gain", "akathisia", "dizziness", "constipation", "increased appetite"),
    "stimulant": ("decreased appetite", "insomnia", "headache", "irritability", "palpitations"),
    "lithium": ("tremor", "thirst", "nausea", "frequent urination", "diarrhea"),
    "benzodiazepine": ("drowsiness", "unsteadiness", "forgetfulness"),
    "opioid": ("constipation", "headache", "nausea", "sweating"),
}
