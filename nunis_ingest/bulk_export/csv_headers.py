"""Pure: localised ``activities.csv`` header names -> canonical fields, in one table.

Strava localises the header to the account language and repeats some names: the first
``Distance`` is in the athlete's display units, the second in metres; the first
``Elapsed Time`` and ``Max Heart Rate`` are the summary's, the second ones the file's.
A repeated name is resolved by its position among the columns of that name (``HEADERS``
lists one canonical field per occurrence). Columns this table does not know are kept
out of the mapping (they survive nowhere but the original file), never an error; a
header in which no language finds the activity id and date is an error listing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "it", "nl", "pt")

# canonical fields per occurrence, then one header name per language in LANGUAGES order
HEADERS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("activity_id",),
        (
            "Activity ID",
            "Aktivitäts-ID",
            "ID de l'activité",
            "ID de actividad",
            "ID attività",
            "Activiteit-ID",
            "ID da atividade",
        ),
    ),
    (
        ("activity_date",),
        (
            "Activity Date",
            "Datum der Aktivität",
            "Date de l'activité",
            "Fecha de la actividad",
            "Data attività",
            "Datum activiteit",
            "Data da atividade",
        ),
    ),
    (
        ("name",),
        (
            "Activity Name",
            "Name der Aktivität",
            "Nom de l'activité",
            "Nombre de la actividad",
            "Nome attività",
            "Naam activiteit",
            "Nome da atividade",
        ),
    ),
    (
        ("sport",),
        (
            "Activity Type",
            "Aktivitätsart",
            "Type d'activité",
            "Tipo de actividad",
            "Tipo di attività",
            "Type activiteit",
            "Tipo de atividade",
        ),
    ),
    (
        ("description",),
        (
            "Activity Description",
            "Beschreibung der Aktivität",
            "Description de l'activité",
            "Descripción de la actividad",
            "Descrizione attività",
            "Beschrijving activiteit",
            "Descrição da atividade",
        ),
    ),
    (
        ("elapsed_time", "elapsed_time_file"),
        (
            "Elapsed Time",
            "Verstrichene Zeit",
            "Temps écoulé",
            "Tiempo transcurrido",
            "Tempo trascorso",
            "Verstreken tijd",
            "Tempo decorrido",
        ),
    ),
    (
        ("distance_display", "distance"),
        ("Distance", "Distanz", "Distance", "Distancia", "Distanza", "Afstand", "Distância"),
    ),
    (
        ("max_heartrate", "max_heartrate_file"),
        (
            "Max Heart Rate",
            "Max. Herzfrequenz",
            "Fréquence cardiaque max.",
            "Frecuencia cardiaca máxima",
            "Frequenza cardiaca max",
            "Max. hartslag",
            "Frequência cardíaca máxima",
        ),
    ),
    (
        ("suffer_score",),
        (
            "Relative Effort",
            "Relative Anstrengung",
            "Effort relatif",
            "Esfuerzo relativo",
            "Sforzo relativo",
            "Relatieve inspanning",
            "Esforço relativo",
        ),
    ),
    (
        ("commute", "commute_flag"),
        (
            "Commute",
            "Pendeln",
            "Trajet domicile-travail",
            "Desplazamiento",
            "Tragitto casa-lavoro",
            "Woon-werkverkeer",
            "Deslocamento",
        ),
    ),
    (
        ("private_note",),
        (
            "Activity Private Note",
            "Private Notiz zur Aktivität",
            "Note privée",
            "Nota privada",
            "Nota privata",
            "Privénotitie",
            "Nota privada da atividade",
        ),
    ),
    (
        ("gear",),
        (
            "Activity Gear",
            "Ausrüstung für Aktivität",
            "Équipement de l'activité",
            "Equipo de la actividad",
            "Attrezzatura attività",
            "Uitrusting activiteit",
            "Equipamento da atividade",
        ),
    ),
    (
        ("filename",),
        (
            "Filename",
            "Dateiname",
            "Nom du fichier",
            "Nombre del archivo",
            "Nome file",
            "Bestandsnaam",
            "Nome do arquivo",
        ),
    ),
    (
        ("athlete_weight",),
        (
            "Athlete Weight",
            "Gewicht des Athleten",
            "Poids de l'athlète",
            "Peso del deportista",
            "Peso atleta",
            "Gewicht atleet",
            "Peso do atleta",
        ),
    ),
    (
        ("moving_time",),
        (
            "Moving Time",
            "Bewegungszeit",
            "Temps de déplacement",
            "Tiempo en movimiento",
            "Tempo in movimento",
            "Beweegtijd",
            "Tempo em movimento",
        ),
    ),
    (
        ("max_speed",),
        (
            "Max Speed",
            "Max. Geschwindigkeit",
            "Vitesse max.",
            "Velocidad máxima",
            "Velocità max",
            "Max. snelheid",
            "Velocidade máxima",
        ),
    ),
    (
        ("average_speed",),
        (
            "Average Speed",
            "Durchschnittsgeschwindigkeit",
            "Vitesse moyenne",
            "Velocidad media",
            "Velocità media",
            "Gemiddelde snelheid",
            "Velocidade média",
        ),
    ),
    (
        ("total_elevation_gain",),
        (
            "Elevation Gain",
            "Höhenzunahme",
            "Dénivelé positif",
            "Desnivel positivo",
            "Dislivello positivo",
            "Hoogtewinst",
            "Ganho de elevação",
        ),
    ),
    (
        ("elevation_loss",),
        (
            "Elevation Loss",
            "Höhenabnahme",
            "Dénivelé négatif",
            "Desnivel negativo",
            "Dislivello negativo",
            "Hoogteverlies",
            "Perda de elevação",
        ),
    ),
    (
        ("elev_low",),
        (
            "Elevation Low",
            "Tiefster Punkt",
            "Altitude min.",
            "Altitud mínima",
            "Altitudine minima",
            "Laagste hoogte",
            "Elevação mínima",
        ),
    ),
    (
        ("elev_high",),
        (
            "Elevation High",
            "Höchster Punkt",
            "Altitude max.",
            "Altitud máxima",
            "Altitudine massima",
            "Hoogste hoogte",
            "Elevação máxima",
        ),
    ),
    (
        ("max_cadence",),
        (
            "Max Cadence",
            "Max. Trittfrequenz",
            "Cadence max.",
            "Cadencia máxima",
            "Cadenza max",
            "Max. cadans",
            "Cadência máxima",
        ),
    ),
    (
        ("average_cadence",),
        (
            "Average Cadence",
            "Durchschnittliche Trittfrequenz",
            "Cadence moyenne",
            "Cadencia media",
            "Cadenza media",
            "Gemiddelde cadans",
            "Cadência média",
        ),
    ),
    (
        ("average_heartrate",),
        (
            "Average Heart Rate",
            "Durchschnittliche Herzfrequenz",
            "Fréquence cardiaque moyenne",
            "Frecuencia cardiaca media",
            "Frequenza cardiaca media",
            "Gemiddelde hartslag",
            "Frequência cardíaca média",
        ),
    ),
    (
        ("max_watts",),
        (
            "Max Watts",
            "Max. Watt",
            "Watts max.",
            "Vatios máximos",
            "Watt max",
            "Max. watt",
            "Watts máximos",
        ),
    ),
    (
        ("average_watts",),
        (
            "Average Watts",
            "Durchschnittliche Watt",
            "Watts moyens",
            "Vatios medios",
            "Watt medi",
            "Gemiddeld wattage",
            "Watts médios",
        ),
    ),
    (
        ("calories",),
        ("Calories", "Kalorien", "Calories", "Calorías", "Calorie", "Calorieën", "Calorias"),
    ),
    (
        ("average_temp",),
        (
            "Average Temperature",
            "Durchschnittstemperatur",
            "Température moyenne",
            "Temperatura media",
            "Temperatura media",
            "Gemiddelde temperatuur",
            "Temperatura média",
        ),
    ),
    (
        ("weighted_average_watts",),
        (
            "Weighted Average Power",
            "Gewichtete Durchschnittsleistung",
            "Puissance moyenne pondérée",
            "Potencia media ponderada",
            "Potenza media ponderata",
            "Gewogen gemiddeld vermogen",
            "Potência média ponderada",
        ),
    ),
    (
        ("total_work",),
        (
            "Total Work",
            "Gesamtarbeit",
            "Travail total",
            "Trabajo total",
            "Lavoro totale",
            "Totaal werk",
            "Trabalho total",
        ),
    ),
    (
        ("from_upload",),
        (
            "From Upload",
            "Vom Upload",
            "Depuis un téléversement",
            "Desde carga",
            "Da caricamento",
            "Van upload",
            "Do carregamento",
        ),
    ),
)
REQUIRED = ("activity_id", "activity_date")


class UnknownHeader(ValueError):
    """No language of ``HEADERS`` reads this header; the message lists what was seen."""


@dataclass(frozen=True)
class Mapping:
    language: str
    fields: dict[int, str]
    """Column position -> canonical field."""


def _table(language: str) -> dict[str, tuple[str, ...]]:
    index = LANGUAGES.index(language)
    return {names[index].casefold(): fields for fields, names in HEADERS}


_TABLES = {lang: _table(lang) for lang in LANGUAGES}


def _clean(name: str) -> str:
    return name.replace("\ufeff", "").strip().casefold()


def map_header(header: Sequence[str]) -> Mapping:
    """The language whose names cover most of ``header``, and position -> field."""
    best: Mapping | None = None
    for lang in LANGUAGES:
        table, seen, fields = _TABLES[lang], dict[str, int](), dict[int, str]()
        for position, name in enumerate(header):
            key = _clean(name)
            occurrences = table.get(key)
            if occurrences is None:
                continue
            nth = seen.get(key, 0)
            seen[key] = nth + 1
            if nth < len(occurrences):
                fields[position] = occurrences[nth]
        if all(r in fields.values() for r in REQUIRED) and (
            best is None or len(fields) > len(best.fields)
        ):
            best = Mapping(lang, fields)
    if best is None:
        shown = ", ".join(repr(h) for h in header[:40])
        raise UnknownHeader(
            f"activities.csv: no known language ({', '.join(LANGUAGES)}) names the activity "
            f"id and date columns; headers seen: {shown}"
        )
    return best


def header_for(language: str, fields: Sequence[str]) -> list[str]:
    """The localised names of ``fields`` (generator, tests): the inverse of ``map_header``."""
    index = LANGUAGES.index(language)
    by_field = {f: names[index] for fs, names in HEADERS for f in fs}
    return [by_field[f] for f in fields]
