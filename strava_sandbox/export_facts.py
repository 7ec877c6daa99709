"""What real Strava exports look like, for the export generator: headers, dates, numbers,
activity-type labels. Written from the shared export facts (STRAVA_EXPORT), never from the
importer's tables, so the two can disagree and the tests then fail.

Sources of the headers (public copies of real exports and code that reads them):

- English, 94 columns (2024): geo-activity-playground's test export and importer;
  MattiaBrocco/estimated-power-watts ``data/activities.csv``.
- English, 103 columns (2026): the 94 up to ``Total Cycles``, nine more, then ``Media``.
- English, 87 columns (late 2023): Bergolito/strava-atividades ``activities.csv``, eleven
  names wrapped in a ``translation_missing`` span.
- German, 92 columns (2024-25): geo-activity-playground issues #191 and #348; 101 columns
  (2026) per benniblau/activity-manager's import script.
- French, 103 columns: an export of July 2026.
- Spanish: only a few names are known (NachoMartinezLozano/running-coach); the generator
  puts them where the English names stand and keeps English elsewhere (a guess).
- "Italian": made-up names (no real header is public): a header no table knows.
"""

from __future__ import annotations


def _names(line: str) -> list[str]:
    """A header line, split on its commas (no name holds one)."""
    return line.split(",")


def _words(text: str) -> list[str]:
    return text.split()


EN_94 = _names(
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,"
    "Elapsed Time,Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,"
    "Activity Gear,Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance,"
    "Max Speed,Average Speed,Elevation Gain,Elevation Loss,Elevation Low,Elevation High,"
    "Max Grade,Average Grade,Average Positive Grade,Average Negative Grade,Max Cadence,"
    "Average Cadence,Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,"
    "Max Temperature,Average Temperature,Relative Effort,Total Work,Number of Runs,"
    "Uphill Time,Downhill Time,Other Time,Perceived Exertion,Type,Start Time,"
    "Weighted Average Power,Power Count,Prefer Perceived Exertion,"
    "Perceived Relative Effort,Commute,Total Weight Lifted,From Upload,"
    "Grade Adjusted Distance,Weather Observation Time,Weather Condition,"
    "Weather Temperature,Apparent Temperature,Dewpoint,Humidity,Weather Pressure,"
    "Wind Speed,Wind Gust,Wind Bearing,Precipitation Intensity,Sunrise Time,Sunset Time,"
    "Moon Phase,Bike,Gear,Precipitation Probability,Precipitation Type,Cloud Cover,"
    "Weather Visibility,UV Index,Weather Ozone,Jump Count,Total Grit,Average Flow,Flagged,"
    "Average Elapsed Speed,Dirt Distance,Newly Explored Distance,"
    "Newly Explored Dirt Distance,Activity Count,Total Steps,Carbon Saved,Pool Length,"
    "Training Load,Intensity,Average Grade Adjusted Pace,Timer Time,Total Cycles,Media"
)
EN_103 = [
    *EN_94[:-1],
    *_names(
        "Recovery,With Pet,Competition,Long Run,For a Cause,With Kid,Downhill Distance,"
        "Total Sets,Total Reps"
    ),
    "Media",
]
_SPAN = (
    '<span class="translation_missing" title="translation missing: '
    'en-US.lib.export.portability_exporter.activities.horton_values.{key}">{label}</span>'
)
EN_87 = [
    *EN_94[:44],
    _SPAN.format(key="type", label="Type"),
    _SPAN.format(key="start_time", label="Start Time"),
    *EN_94[46:76],
    *(
        _SPAN.format(key=key, label=label)
        for key, label in (
            ("jump_count", "Jump Count"),
            ("total_grit", "Total Grit"),
            ("avg_flow", "Avg Flow"),
            ("flagged", "Flagged"),
            ("avg_elapsed_speed", "Avg Elapsed Speed"),
            ("dirt_distance", "Dirt Distance"),
            ("newly_explored_distance", "Newly Explored Distance"),
            ("newly_explored_dirt_distance", "Newly Explored Dirt Distance"),
            ("sport_type", "Sport Type"),
            ("total_steps", "Total Steps"),
        )
    ),
    "Media",
]
EN_87_MEANING = [*EN_94[:76], "Jump Count", "Total Grit", "Average Flow", "Flagged",
                 "Average Elapsed Speed", "Dirt Distance", "Newly Explored Distance",
                 "Newly Explored Dirt Distance", "Sport Type", "Total Steps", "Media"]  # fmt: skip

DE_92 = _names(
    "Aktivitäts-ID,Aktivitätsdatum,Name der Aktivität,Aktivitätsart,Aktivitätsbeschreibung,"
    "Verstrichene Zeit,Distanz,Max. Herzfrequenz,Relative Leistung,Pendeln,"
    "Hinweis zur Privatsphäre für Aktivitäten,Aktivitätsausrüstung,Dateiname,"
    "Sportlergewicht,Fahrradgewicht,Verstrichene Zeit,Bewegungszeit,Distanz,Höchstgeschw.,"
    "Durchschnittliche Geschwindigkeit,Höhenzunahme,Höhenunterschied,Min. Höhe,Max. Höhe,"
    "Max. Steigung,Durchschnittliche Steigung,Durchschnittliche positive Steigung,"
    "Durchschnittliche negative Steigung,Max. Tritt-/Schrittfrequenz,"
    "Durchschnittliche Trittfrequenz,Max. Herzfrequenz,Durchschnittliche Herzfrequenz,"
    "Max. Watt,Durchschnittliche Watt,Kalorien,Max. Temperatur,"
    "Durchschnittliche Temperatur,Relative Leistung,Gesamtarbeit,Anzahl Läufe,Bergaufzeit,"
    "Bergabzeit,Andere Zeit,Gefühlte Anstrengung,Art,Startzeit,"
    "Gewichtete durchschnittliche Leistung,Leistungszahl,Gefühlte Anstrengung verwenden,"
    "Gefühlte relative Leistung,Pendeln,Insgesamt gestemmtes Gewicht,Von Upload,"
    "Auf Steigung angepasste Distanz,Wetterbeobachtungszeit,Wetterlage,Wetter: Temperatur,"
    "Scheinbare Temperatur,Taupunkt,Luftfeuchtigkeit,Wetter: Druck,Windgeschwindigkeit,"
    "Windböe,Windrichtung,Niederschlagsintensität,Sonnenaufgangszeit,Sonnenuntergangszeit,"
    "Mondphase,Fahrrad,Ausrüstung,Niederschlagswahrscheinlichkeit,Niederschlagsart,"
    "Wolkendecke,Wetter: Sichtbarkeit,UV-Index,Wetter: Ozon,Sprunganzahl,"
    "Schwierigkeit insgesamt,Durchschnittlicher Flow,Markiert,"
    "Durchschnittsgeschwindigkeit im Aufzeichnungszeitraum,"
    "Auf Schotter zurückgelegte Distanz,Neu getestete Distanz,"
    "Neu getestete Schotterdistanz,Aktivitätsanzahl,Schritte insgesamt,"
    "Eingesparte CO₂-Emissionen,Pool-Länge,Trainingsbelastung,Intensität,"
    "Durchschnittliches auf Steigung angepasstes Tempo,Medien"
)
DE_101 = [
    *DE_92[:-1],
    *_names(
        "Stoppuhr-Zeit,Zyklen gesamt,Regeneration,Mit Haustier,Wettbewerb,Langer Lauf,"
        "Für einen guten Zweck,Mit Kind,Abfahrtsdistanz"
    ),
    "Medien",
]
FR_103 = _names(
    "ID de l'activité,Date de l'activité,Nom de l'activité,Type d'activité,"
    "Description de l'activité,Temps écoulé,Distance,Fréquence cardiaque max.,"
    "Effort relatif,Déplacement-transport,Note privée sur les activités,"
    "Matériel utilisé pour l'activité,Nom du fichier,Poids de l'athlète,Poids du vélo,"
    "Temps écoulé,Durée de déplacement,Distance,Vitesse max.,Vitesse moyenne,"
    "Dénivelé positif,Dénivelé négatif,Altitude min.,Altitude max.,Pente max.,"
    "Pente moyenne,Pente positive moyenne,Pente négative moyenne,Cadence max.,"
    "Cadence moyenne,Fréquence cardiaque max.,Fréquence cardiaque moyenne,Puissance max.,"
    "Puissance moyenne,Calories,Température max.,Température moyenne,Effort relatif,"
    "Effort total,Nombre de sorties course à pied,Temps de montée,Temps de descente,"
    "Autres temps,Effort ressenti,Type,Heure de début,Puissance moyenne pondérée,"
    "Nombre d'échantillons de puissance,Utiliser l'Effort ressenti,Effort relatif ressenti,"
    "Déplacement-transport,Poids total soulevé,À partir du téléchargement,"
    "Distance ajustée selon la pente,Heure d'observation de la météo,Conditions météo,"
    "Température selon les prévisions météo,Température ressentie,Point de rosée,Humidité,"
    "Pression atmosphérique,Vitesse du vent,Rafale de vent,Direction du vent,"
    "Intensité des précipitations,Heure de lever du soleil,Heure de coucher du soleil,"
    "Phase de la lune,Vélo,Matériel,Probabilité de précipitations,Type de précipitations,"
    "Couverture nuageuse,Visibilité selon les prévisions météo,Indice UV,"
    "Ozone selon les prévisions météo,Nombre de sauts,Grit total,Flow moyen,Signalé,"
    "Vitesse moyenne (temps écoulé),Distance sur chemin,Distance récemment découverte,"
    "Distance sur chemin récemment découverte,Nombre d'activités,Nombre total de pas,"
    "CO2 économisé,Longueur de piscine,Charge d’entraînement,Intensité,"
    "Vitesse moyenne ajustée selon la pente,Temps enregistré par le chronomètre,"
    "Nombre total de cycles,Récupération,Avec mon animal de compagnie,Compétition,"
    "Sortie longue,Pour la bonne cause,Avec enfant,Distance en descente,"
    "Nombre total de séries,Nombre total de répétitions,Support"
)
ES_KNOWN = {
    "Activity ID": "ID de actividad",
    "Activity Date": "Fecha de la actividad",
    "Activity Name": "Nombre de la actividad",
    "Activity Type": "Tipo de actividad",
    "Activity Description": "Descripción de la actividad",
    "Elapsed Time": "Tiempo transcurrido",
    "Distance": "Distancia",
    "Activity Private Note": "Nota privada de actividad",
    "Filename": "Nombre del archivo",
    "Moving Time": "Tiempo en movimiento",
    "Elevation Gain": "Desnivel positivo",
}
IT_GUESS = {
    "Activity ID": "ID attività",
    "Activity Date": "Data dell'attività",
    "Activity Name": "Nome attività",
    "Filename": "Nome file",
}

GENERATIONS: dict[str, tuple[list[str], list[str]]] = {
    # name: (header as written, the English meaning of each column)
    "en94": (EN_94, EN_94),
    "en103": (EN_103, EN_103),
    "en87": (EN_87, EN_87_MEANING),
    "de92": (DE_92, [n for n in EN_94 if n not in ("Timer Time", "Total Cycles")]),
    "de101": (DE_101, [n for n in EN_103 if n not in ("Total Sets", "Total Reps")]),
    "fr103": (FR_103, EN_103),
    "es94": ([ES_KNOWN.get(n, n) for n in EN_94], EN_94),
    "it94": ([IT_GUESS.get(n, f"Colonna {i + 1}") for i, n in enumerate(EN_94)], EN_94),
}
LANGUAGE_OF = {"en94": "en", "en103": "en", "en87": "en", "de92": "de", "de101": "de",
               "fr103": "fr", "es94": "es", "it94": "it"}  # fmt: skip

MONTHS = {
    "en": _words("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"),
    "fr": _words("janv. févr. mars avr. mai juin juil. août sept. oct. nov. déc."),
    "es": _words("ene. feb. mar. abr. may. jun. jul. ago. sept. oct. nov. dic."),
    "it": _words("gen feb mar apr mag giu lug ago set ott nov dic"),
}

TYPE_LABELS = {
    "en": {
        "Run": "Run",
        "Ride": "Ride",
        "Walk": "Walk",
        "Hike": "Hike",
        "Swim": "Swim",
        "TrailRun": "Trail Run",
        "VirtualRide": "Virtual Ride",
        "WeightTraining": "Weight Training",
        "Workout": "Workout",
        "Yoga": "Yoga",
    },
    "de": {
        "Run": "Lauf",
        "Ride": "Radfahrt",
        "Walk": "Spaziergang",
        "Swim": "Schwimmen",
        "WeightTraining": "Gewichtstraining",
        "VirtualRide": "Virtuelle Radfahrt",
        "Workout": "Training",
    },
    "fr": {"Run": "Course à pied", "Ride": "Vélo", "Swim": "Natation", "Walk": "Marche"},
    "es": {
        "Run": "Carrera",
        "Ride": "Bicicleta",
        "Walk": "Caminata",
        "WeightTraining": "Entrenamiento con pesas",
        "Workout": "Entrenamiento",
    },
}
"""The display labels the facts give (an ``Activity Type`` cell); a sport without a known
label in that language is written as English would (``Trail Run``): the importer must
still read something sensible, or keep the label."""

PROFILE_HEADER = "Athlete ID,Email Address,First Name,Last Name"
"""``profile.csv``: the first three names are in the facts (English in every language);
``Last Name`` is a guess."""
