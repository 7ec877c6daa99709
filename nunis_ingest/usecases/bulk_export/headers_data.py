"""Pure data: ``activities.csv`` headers copied from real Strava exports, with their sources.

Each header line below is verbatim (split on commas: no name holds one). Sources, all
public:

- ``EN_94`` (2024): geo-activity-playground (martin-ueding/geo-activity-playground) test
  data ``testdata/Strava Export/.../activities.csv`` and its importer's expected columns;
  the same names head MattiaBrocco/estimated-power-watts ``data/activities.csv``.
- ``EN_103_EXTRA`` (2026): the 94 up to ``Total Cycles``, then these before ``Media``;
  geo-activity-playground issue #403 reports 101 of them.
- ``EN_87_LABELS`` (late 2023): Bergolito/strava-atividades ``activities.csv``; eleven
  names came wrapped in ``<span class="translation_missing" title="...KEY">Label</span>``
  (the label is what we read) and three differ from the 94-column names.
- ``DE_92`` (2024-25): geo-activity-playground issues #191 and #348, verbatim.
- ``DE_101_EXTRA`` (2026): benniblau/activity-manager ``scripts/import_archive.py`` (its
  column map, by position) and geo-activity-playground ``strava-csv-mapping.json``:
  inserted after the 91st name, before ``Medien``.
- ``FR_103`` (export of 2026-07), verbatim.
- ``ES_SEEN``: only the names seen in public code reading real Spanish exports
  (NachoMartinezLozano/running-coach ``importers/strava_csv.py``; ``Fecha de la
  actividad`` from another project's test). The rest of a Spanish header is unknown.
- Italian, Dutch, Portuguese: no real header is public; such a header is read by
  position (see ``csv_headers``).
"""

from __future__ import annotations


def _split(line: str) -> tuple[str, ...]:
    return tuple(line.split(","))


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


EN_94 = _split(
    "Activity ID,Activity Date,Activity Name,Activity Type,Activity Description,Elapsed Time,"
    "Distance,Max Heart Rate,Relative Effort,Commute,Activity Private Note,Activity Gear,"
    "Filename,Athlete Weight,Bike Weight,Elapsed Time,Moving Time,Distance,Max Speed,"
    "Average Speed,Elevation Gain,Elevation Loss,Elevation Low,Elevation High,Max Grade,"
    "Average Grade,Average Positive Grade,Average Negative Grade,Max Cadence,Average Cadence,"
    "Max Heart Rate,Average Heart Rate,Max Watts,Average Watts,Calories,Max Temperature,"
    "Average Temperature,Relative Effort,Total Work,Number of Runs,Uphill Time,Downhill Time,"
    "Other Time,Perceived Exertion,Type,Start Time,Weighted Average Power,Power Count,"
    "Prefer Perceived Exertion,Perceived Relative Effort,Commute,Total Weight Lifted,"
    "From Upload,Grade Adjusted Distance,Weather Observation Time,Weather Condition,"
    "Weather Temperature,Apparent Temperature,Dewpoint,Humidity,Weather Pressure,Wind Speed,"
    "Wind Gust,Wind Bearing,Precipitation Intensity,Sunrise Time,Sunset Time,Moon Phase,Bike,"
    "Gear,Precipitation Probability,Precipitation Type,Cloud Cover,Weather Visibility,"
    "UV Index,Weather Ozone,Jump Count,Total Grit,Average Flow,Flagged,Average Elapsed Speed,"
    "Dirt Distance,Newly Explored Distance,Newly Explored Dirt Distance,Activity Count,"
    "Total Steps,Carbon Saved,Pool Length,Training Load,Intensity,"
    "Average Grade Adjusted Pace,Timer Time,Total Cycles,Media"
)

EN_103_EXTRA = _split(
    "Recovery,With Pet,Competition,Long Run,For a Cause,With Kid,Downhill Distance,"
    "Total Sets,Total Reps"
)
EN_103 = (*EN_94[:-1], *EN_103_EXTRA, EN_94[-1])

EN_87_LABELS = {"Avg Flow": "Average Flow", "Avg Elapsed Speed": "Average Elapsed Speed"}
"""Labels of the 87-column generation that name a 94-column field differently (its
``Sport Type`` column has no counterpart in the other generations)."""

DE_92 = _split(
    "Aktivitäts-ID,Aktivitätsdatum,Name der Aktivität,Aktivitätsart,Aktivitätsbeschreibung,"
    "Verstrichene Zeit,Distanz,Max. Herzfrequenz,Relative Leistung,Pendeln,"
    "Hinweis zur Privatsphäre für Aktivitäten,Aktivitätsausrüstung,Dateiname,Sportlergewicht,"
    "Fahrradgewicht,Verstrichene Zeit,Bewegungszeit,Distanz,Höchstgeschw.,"
    "Durchschnittliche Geschwindigkeit,Höhenzunahme,Höhenunterschied,Min. Höhe,Max. Höhe,"
    "Max. Steigung,Durchschnittliche Steigung,Durchschnittliche positive Steigung,"
    "Durchschnittliche negative Steigung,Max. Tritt-/Schrittfrequenz,"
    "Durchschnittliche Trittfrequenz,Max. Herzfrequenz,Durchschnittliche Herzfrequenz,"
    "Max. Watt,Durchschnittliche Watt,Kalorien,Max. Temperatur,Durchschnittliche Temperatur,"
    "Relative Leistung,Gesamtarbeit,Anzahl Läufe,Bergaufzeit,Bergabzeit,Andere Zeit,"
    "Gefühlte Anstrengung,Art,Startzeit,Gewichtete durchschnittliche Leistung,Leistungszahl,"
    "Gefühlte Anstrengung verwenden,Gefühlte relative Leistung,Pendeln,"
    "Insgesamt gestemmtes Gewicht,Von Upload,Auf Steigung angepasste Distanz,"
    "Wetterbeobachtungszeit,Wetterlage,Wetter: Temperatur,Scheinbare Temperatur,Taupunkt,"
    "Luftfeuchtigkeit,Wetter: Druck,Windgeschwindigkeit,Windböe,Windrichtung,"
    "Niederschlagsintensität,Sonnenaufgangszeit,Sonnenuntergangszeit,Mondphase,Fahrrad,"
    "Ausrüstung,Niederschlagswahrscheinlichkeit,Niederschlagsart,Wolkendecke,"
    "Wetter: Sichtbarkeit,UV-Index,Wetter: Ozon,Sprunganzahl,Schwierigkeit insgesamt,"
    "Durchschnittlicher Flow,Markiert,Durchschnittsgeschwindigkeit im Aufzeichnungszeitraum,"
    "Auf Schotter zurückgelegte Distanz,Neu getestete Distanz,Neu getestete Schotterdistanz,"
    "Aktivitätsanzahl,Schritte insgesamt,Eingesparte CO₂-Emissionen,Pool-Länge,"
    "Trainingsbelastung,Intensität,Durchschnittliches auf Steigung angepasstes Tempo,Medien"
)
DE_101_EXTRA = _split(
    "Stoppuhr-Zeit,Zyklen gesamt,Regeneration,Mit Haustier,Wettbewerb,Langer Lauf,"
    "Für einen guten Zweck,Mit Kind,Abfahrtsdistanz"
)

FR_103 = _split(
    "ID de l'activité,Date de l'activité,Nom de l'activité,Type d'activité,"
    "Description de l'activité,Temps écoulé,Distance,Fréquence cardiaque max.,Effort relatif,"
    "Déplacement-transport,Note privée sur les activités,Matériel utilisé pour l'activité,"
    "Nom du fichier,Poids de l'athlète,Poids du vélo,Temps écoulé,Durée de déplacement,"
    "Distance,Vitesse max.,Vitesse moyenne,Dénivelé positif,Dénivelé négatif,Altitude min.,"
    "Altitude max.,Pente max.,Pente moyenne,Pente positive moyenne,Pente négative moyenne,"
    "Cadence max.,Cadence moyenne,Fréquence cardiaque max.,Fréquence cardiaque moyenne,"
    "Puissance max.,Puissance moyenne,Calories,Température max.,Température moyenne,"
    "Effort relatif,Effort total,Nombre de sorties course à pied,Temps de montée,"
    "Temps de descente,Autres temps,Effort ressenti,Type,Heure de début,"
    "Puissance moyenne pondérée,Nombre d'échantillons de puissance,"
    "Utiliser l'Effort ressenti,Effort relatif ressenti,Déplacement-transport,"
    "Poids total soulevé,À partir du téléchargement,Distance ajustée selon la pente,"
    "Heure d'observation de la météo,Conditions météo,"
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

ES_SEEN = {
    "ID de actividad": "Activity ID",
    "Fecha de la actividad": "Activity Date",
    "Nombre de la actividad": "Activity Name",
    "Tipo de actividad": "Activity Type",
    "Descripción de la actividad": "Activity Description",
    "Tiempo transcurrido": "Elapsed Time",
    "Distancia": "Distance",
    "Nota privada de actividad": "Activity Private Note",
    "Nombre del archivo": "Filename",
    "Tiempo en movimiento": "Moving Time",
    "Desnivel positivo": "Elevation Gain",
    "Esfuerzo Percibido": "Perceived Exertion",
}


def _aligned(local: tuple[str, ...], english: tuple[str, ...]) -> dict[str, str]:
    """Local name -> English name, from two headers of one generation, column by column."""
    if len(local) != len(english):
        raise ValueError(f"{len(local)} local names for {len(english)} English ones")
    out: dict[str, str] = {}
    for name, en in zip(local, english, strict=True):
        if out.setdefault(name, en) != en:
            raise ValueError(f"{name!r} names both {out[name]!r} and {en!r}")
    return out


_EN_94_WITHOUT_TIMER = tuple(n for n in EN_94 if n not in ("Timer Time", "Total Cycles"))
_DE_101 = (*DE_92[:-1], *DE_101_EXTRA, DE_92[-1])
_EN_FOR_DE_101 = tuple(n for n in EN_103 if n not in ("Total Sets", "Total Reps"))

TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {name: name for name in (*EN_103, "Sport Type")} | EN_87_LABELS,
    "de": _aligned(DE_92, _EN_94_WITHOUT_TIMER) | _aligned(_DE_101, _EN_FOR_DE_101),
    "fr": _aligned(FR_103, EN_103),
    "es": dict(ES_SEEN),
}
"""Per language: header name as the export spells it -> the English name."""

SPORT_LABELS: dict[str, dict[str, str]] = {
    "de": {
        "Lauf": "Run",
        "Radfahrt": "Ride",
        "Spaziergang": "Walk",
        "Schwimmen": "Swim",
        "Gewichtstraining": "WeightTraining",
        "Virtuelle Radfahrt": "VirtualRide",
        "Training": "Workout",
        "Wandern": "Hike",
        "Virtueller Lauf": "VirtualRun",
        "Mountainbikefahrt": "MountainBikeRide",
        "Gravelfahrt": "GravelRide",
        "E-Bike-Fahrt": "EBikeRide",
        "Traillauf": "TrailRun",
        "Rudern": "Rowing",
        "Langlauf": "NordicSki",
        "Ski Alpin": "AlpineSki",
    },
    "fr": {
        "Course à pied": "Run",
        "Vélo": "Ride",
        "Natation": "Swim",
        "Marche": "Walk",
    },
    "es": {
        "Carrera": "Run",
        "Bicicleta": "Ride",
        "Caminata": "Walk",
        "Entrenamiento con pesas": "WeightTraining",
        "Entrenamiento": "Workout",
    },
}
"""``Activity Type`` holds the account language's display label, not the API's
``sport_type``. Sources: STRAVA_EXPORT facts (de ``Lauf`` ... ``Training``; fr; es) and
benniblau/activity-manager's German map (the rest of ``de``). English labels are the
``sport_type`` with spaces (``Weight Training``), matched against ``SPORT_TYPES``."""

SPORT_TYPES = frozenset(
    _words(
        "AlpineSki BackcountrySki Badminton Canoeing Crossfit EBikeRide Elliptical "
        "EMountainBikeRide Golf GravelRide Handcycle HighIntensityIntervalTraining Hike IceSkate "
        "InlineSkate Kayaking Kitesurf MountainBikeRide NordicSki Pickleball Pilates Racquetball "
        "Ride RockClimbing RollerSki Rowing Run Sail Skateboard Snowboard Snowshoe Soccer Squash "
        "StairStepper StandUpPaddling Surfing Swim TableTennis Tennis TrailRun Velomobile "
        "VirtualRide VirtualRow VirtualRun Walk WeightTraining Wheelchair Windsurf Workout Yoga"
    )
)
"""Strava's ``SportType`` values (API reference, 2025)."""
