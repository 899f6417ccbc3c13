"""How people write "free of charge" and "framework agreement" in the checks' five languages.

Each phrase is written once in its base form and found in any inflection the language's stemmer
knows ("gratuite", "gratuites"; "Rahmenverträge"; "accordi quadro"), see kam.topics. A concession
or a framework agreement found by these words says which words, on the card.
"""

from __future__ import annotations

from functools import cache

from kam import topics


def _table(**by_language: str) -> dict[str, tuple[str, ...]]:
    """Phrases per language, written "a | b | c" to be read as lists."""
    return {
        language: tuple(p.strip() for p in words.split("|") if p.strip()) for language, words in by_language.items()
    }


CONCESSION = _table(
    en=(
        "free of charge | for free | free | at no cost | at no extra cost | at no additional cost | at no "
        "charge | no charge | without charge | no cost | waive | waived | complimentary | on us | on the "
        "house | zero cost | free-of-charge | at our expense | zeroed | written off"
    ),
    de=(
        "kostenlos | kostenfrei | gratis | unentgeltlich | umsonst | ohne aufpreis | gebührenfrei | geht auf "
        "uns | übernehmen wir | entfällt | entfallen | auf unsere kosten | kostenneutral | gratisleistung | "
        "ohne zusatzkosten | aufs haus | auf kosten des hauses"
    ),
    fr=(
        "gratuit | gratuitement | offert | offerte | sans supplément | à titre gracieux | à nos frais | sans "
        "coût | pris en charge par nous | à notre charge | offerts"
    ),
    it=(
        "gratuito | gratuitamente | gratis | in omaggio | senza costi | a titolo gratuito | a nostro carico | "
        "a carico nostro | senza spese | a costo zero | a nostre spese | azzerato"
    ),
    es=(
        "gratis | gratuito | gratuitamente | a coste cero | a costo cero | bonificado | por cuenta nuestra | "
        "por nuestra cuenta | a nuestro cargo | asumimos el coste | regalamos"
    ),
)

FRAMEWORK = _table(
    en=(
        "framework agreement | framework contract | master agreement | master services agreement | master "
        "service agreement | master supply agreement | master purchase agreement | msa | global supply "
        "agreement | global purchasing agreement | global agreement | umbrella agreement | group-wide "
        "agreement | group-wide supply agreement | group supply agreement | corporate agreement | corporate "
        "supply agreement | blanket agreement | frame agreement | frame contract | umbrella contract | "
        "framework deal | master contract"
    ),
    de=(
        "rahmenvertrag | rahmenvereinbarung | rahmenliefervertrag | rahmenabkommen | konzernvertrag | "
        "rahmenkaufvertrag | konzernweite vereinbarung | konzernweiter liefervertrag | konzernliefervertrag | "
        "globaler liefervertrag | globale vereinbarung | mastervertrag | rv | konzernweite liefervereinbarung "
        "| konzernliefervereinbarung"
    ),
    fr=(
        "contrat cadre | accord cadre | contrat-cadre | accord-cadre | convention cadre | accord global | "
        "contrat global d'approvisionnement | accord de groupe"
    ),
    it=(
        "accordo quadro | contratto quadro | convenzione quadro | accordo globale | accordo di fornitura "
        "globale | accordo di gruppo"
    ),
    es=(
        "acuerdo marco | contrato marco | convenio marco | acuerdo global | acuerdo de suministro global | "
        "acuerdo corporativo"
    ),
)

# Concession words that name the whole decision (a goodwill gesture), not the one thing it gives away.
LABELS = _table(
    en="goodwill | goodwill gesture | complimentary",
    de="kulanz | auf kulanz | kulanzleistung | entgegenkommen",
    fr="geste commercial | geste",
    it="gesto commerciale | omaggio",
    es="buena voluntad | gesto comercial | de cortesía | cortesía",
)

# "Not invoiced", "berechnen wir nicht", "non verranno fatturate": a billing word and a negation in one clause,
# at most NEGATION_REACH words apart, say it is not charged.
BILLING = _table(
    en="charge | bill | invoice | fee",
    de="berechnen | berechnet | verrechnen | verrechnet | rechnung | fakturieren | gebühr | kosten",
    fr="facturer | frais",
    it="fatturare | fattura | addebitare | addebito | costo | canone",
    es="facturar | cobrar | cargo | coste | cuota",
)

NEGATION = _table(
    en="not | no | without | won | never",
    de="nicht | kein | keine | keinen | ohne",
    fr="pas | sans | aucun | aucuns | aucune",
    it="non | senza | nessun | nessuna",
    es="no | sin | ningún | ninguna",
)

NEGATION_REACH = 3

# A text that orders under, or refers to, an agreement that exists opens none: words up to REFERENCE_REACH
# before the framework words ("call-off from the existing framework agreement", "pedido bajo el acuerdo marco").
REFERENCE = _table(
    en="under | existing | current | pursuant | according | against | call-off | per the",
    de="aus | bestehend | gemäß | laut | abruf | unter | geltend | im rahmen | auf basis",
    fr="selon | existant | en vigueur | au titre | commande | dans le cadre",
    it="secondo | esistente | vigente | in essere | ordine | ambito | a valere | in vigore",
    es="bajo | vigente | existente | según | pedido | amparo | en el marco",
)
REFERENCE_REACH = 3

# A framework agreement that is not (no longer) opened: "no framework agreement with them", "Rahmenvertrag nicht
# verlängert". NEGATION's words up to REFERENCE_REACH before it; these right after it.
ENDED = _table(
    en="not renewed | terminated | expired | cancelled | ended | will not be renewed",
    de="nicht verlängert | gekündigt | beendet | ausgelaufen | läuft aus",
    fr="non renouvelé | résilié | expiré | terminé",
    it="non rinnovato | disdetto | scaduto | terminato",
    es="no renovado | rescindido | vencido | terminado",
)

# A price changed (reduced, or an increase waived), not a service given away: where these words stand with what
# is given, the service itself is still paid for.
DISCOUNT = _table(
    en=(
        "discount | rebate | reduction | reduced price | price cut | price increase | increase | indexation | "
        "under warranty | under the warranty | warranty claim | per warranty"
    ),
    de=(
        "rabatt | nachlass | preisnachlass | skonto | ermäßigung | reduziert | preiserhöhung | erhöhung | "
        "indexierung | garantiefall | gewährleistungsfall | im rahmen der garantie | unter garantie"
    ),
    fr=(
        "remise | rabais | réduction | ristourne | prix réduit | hausse | augmentation | indexation | sous "
        "garantie | au titre de la garantie"
    ),
    it="sconto | riduzione | ribasso | prezzo ridotto | aumento | rincaro | indicizzazione | in garanzia",
    es=(
        "descuento | rebaja | reducción | precio reducido | subida | aumento | incremento | por garantía | en "
        "garantía | bajo garantía"
    ),
)

# Words that start what surrounds the thing a text is about ("a free rental pump *during the overhaul*",
# "parking *for the participants* of the training"): the words after them, up to CONTEXT_WORDS, are context.
CONTEXT = _table(
    en="during | after | before | while | participants | attendees | visitors | until | under",
    de="während | nach | bei | teilnehmer | besucher | bis | unter | im rahmen | beim | anlässlich",
    fr="pendant | après | avant | lors | participants | visiteurs | jusqu | sous",
    it="durante | dopo | prima | partecipanti | visitatori | fino | sotto | nell'ambito",
    es="durante | tras | después | antes | participantes | visitantes | hasta | bajo",
)

# Days and months: never a service, whatever a stemmer makes of them ("Montag" -> "montag", as "Montage").
CALENDAR = _table(
    en=(
        "monday | tuesday | wednesday | thursday | friday | saturday | sunday | january | february | march | "
        "april | may | june | july | august | september | october | november | december"
    ),
    de=(
        "montag | dienstag | mittwoch | donnerstag | freitag | samstag | sonntag | januar | februar | märz | "
        "april | mai | juni | juli | august | september | oktober | november | dezember"
    ),
    fr=(
        "lundi | mardi | mercredi | jeudi | vendredi | samedi | dimanche | janvier | février | mars | avril | "
        "mai | juin | juillet | août | septembre | octobre | novembre | décembre"
    ),
    it=(
        "lunedì | martedì | mercoledì | giovedì | venerdì | sabato | domenica | gennaio | febbraio | marzo | "
        "aprile | maggio | giugno | luglio | agosto | settembre | ottobre | novembre | dicembre"
    ),
    es=(
        "lunes | martes | miércoles | jueves | viernes | sábado | domingo | enero | febrero | marzo | abril | "
        "mayo | junio | julio | agosto | septiembre | octubre | noviembre | diciembre"
    ),
)

# What a thing is for, about or of ("free training *for the maintenance team*", "a course *on pump maintenance*",
# "the travel costs *of the commissioning team*"), unless nothing else names the thing ("the fee for phone support
# waived", "Kosten der Wartung").
PURPOSE = _table(
    en="for | on | about | of",
    de="für | zu | über | zum | zur | der | des",
    fr="pour | sur | de | des | du | d",
    it="per | su | sul | sulla | di | del | della | dei | delle | degli | dello",
    es="para | sobre | de | del",
)

# Words that say nothing about which service a text is about: what every concession, agreement and
# service text has in common.
NOT_A_TOPIC = _table(
    en=(
        "service | customer | client | price | cost | charge | offer | agree | pay | paid | payment | invoice "
        "| month | year | week | day | hour | extra | additional | include | included | yrs | annual | going "
        "| forward | first | now | onwards | rest | all | new | provide | will | give | given | grant | "
        "granted | fee | fees | per | also | agreed | order | ordered | book | booked | deal | contract | "
        "offered | team"
    ),
    de=(
        "leistung | kunde | kunden | preis | kosten | angebot | zahlen | bezahlen | zahlt | rechnung | monat "
        "| jahr | woche | tag | tage | stunde | zusätzlich | inklusive | erhalten | gewähren | gebühr | pro | "
        "vereinbart | bestellt | bestellung | auftrag | jährlich | jahresgebühr | ersten | sofort | künftig | "
        "neu | neue | vertrag | anbieten | bieten | team"
    ),
    fr=(
        "prestation | service | client | prix | coût | frais | offre | payer | payé | facture | mois | an | "
        "année | semaine | jour | heure | supplémentaire | inclus | accordé | commande | annuel | premier | "
        "première | désormais | nouveau | nouvelle | contrat | offrir | offrons | équipe"
    ),
    it=(
        "servizio | cliente | prezzo | costo | costi | offerta | pagare | pagato | fattura | mese | anno | "
        "settimana | giorno | giorni | ora | aggiuntivo | incluso | concesso | ordine | spese | annuo | "
        "annuale | primo | prima | nuovo | nuova | contratto | offrire | offriamo | squadra"
    ),
    es=(
        "servicio | cliente | precio | coste | costo | oferta | pagar | pagado | factura | mes | año | semana "
        "| día | hora | adicional | incluido | concedido | pedido | gastos | anual | primer | primero | nuevo "
        "| nueva | contrato | ofrecer | ofrecemos | equipo"
    ),
)


@cache
def concession_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(CONCESSION)


@cache
def framework_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(FRAMEWORK)


@cache
def label_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(LABELS)


@cache
def _folded(by_language: tuple[tuple[str, tuple[str, ...]], ...]) -> frozenset[str]:
    return frozenset(topics.fold(w) for _, words in by_language for w in words)


@cache
def billing_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(BILLING)


def negation_words() -> frozenset[str]:
    return _folded(tuple(NEGATION.items()))


@cache
def ended_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(ENDED)


@cache
def reference_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(REFERENCE)


@cache
def discount_phrases() -> tuple[topics.Phrase, ...]:
    return _phrases(DISCOUNT)


@cache
def context_words() -> frozenset[str]:
    """The context words, folded (compared as written: a stemmer would take "for" for "force"); of two words
    ("im Rahmen"), the last."""
    return frozenset(topics.fold(w.split()[-1].split("'")[-1]) for words in CONTEXT.values() for w in words)


@cache
def calendar_words() -> frozenset[str]:
    return frozenset(topics.fold(w) for words in CALENDAR.values() for w in words)


@cache
def purpose_words() -> frozenset[str]:
    return frozenset(topics.fold(w) for words in PURPOSE.values() for w in words)


@cache
def not_a_topic() -> frozenset[str]:
    """Stems, in every language, of the words that name no topic."""
    words = {topics.fold(w) for language in NOT_A_TOPIC.values() for w in language}
    words |= {w for p in (*concession_phrases(), *billing_phrases()) for w in p.words} | calendar_words()
    return frozenset(topics.stem(language, w) for w in words for language in topics.LANGUAGES)


def _phrases(by_language: dict[str, tuple[str, ...]]) -> tuple[topics.Phrase, ...]:
    return tuple(topics.phrase(language, w) for language, words in by_language.items() for w in words)
