"""Hand-written support messages with their PII marked, several countries' formats.

`{kind:value}` marks a PII span; `unmark` gives the text and the spans. Used by the redaction
unit tests and by `make bench` (a recall/precision table beside the generator's).
"""

from __future__ import annotations

import re

MARK = re.compile(r"\{(\w+):([^{}]+)\}")
HANDWRITTEN = [
    (
        {"names": ("Maria Silva",), "phones": ("+351912345678",), "region": "PT"},
        "Olá! Sou a {name:Maria}, a encomenda 48213 chegou partida. Liguem-me para o {phone:912 345 678} ou para o "
        "fixo {phone:+351 21 346 0395}. Reembolso para o IBAN {iban:PT50 0002 0123 1234 5678 9015 4}, obrigada.",
    ),
    (
        {"names": ("João Pereira",), "phones": ("+5511987654321",), "region": "BR"},
        "Oi, aqui é o {name:João Pereira}. Meu celular é {phone:(11) 98765-4321} e o e-mail "
        "{email:joao.pereira@exemplo.com.br}. Pedido nº 77120.",
    ),
    (
        {"names": ("Rafael Souza",), "phones": ("+5511987650000",), "region": "BR"},
        "Meu WhatsApp novo: {phone:+55 (11) 9 8765-4321}. Entrega na {address:Rua Augusta, 274}, apto 3. "
        "Nota fiscal 000123.",
    ),
    (
        {"names": ("Lucía Fernández",), "phones": ("+34612345678",), "region": "ES"},
        "Hola, soy {name:Lucía}. Mi móvil: {phone:612.345.678}. Vivo en {address:Calle Mayor 5}, 2ºB. "
        "El pedido 100234 no llegó.",
    ),
    (
        {"names": ("Jonas Becker",), "phones": ("+4915123456789",), "region": "DE"},
        "Hallo, hier {name:Jonas Becker}. Bitte an {address:Bahnhofstr. 12a} liefern, Handy {phone:0151 23456789}. "
        "Die Bestellung 55012 fehlt. IBAN: {iban:DE89 3704 0044\n0532 0130 00}",
    ),
    (
        {"names": ("Klaus Weber",), "region": "DE"},
        "Guten Tag, Festnetz {phone:030 1234567}, Rechnung INV-2024-000123 über 1.299,00 €.",
    ),
    (
        {"names": ("Chloé Martin",), "phones": ("+33612345678",), "region": "FR"},
        "Bonjour, {name:Chloé Martin} ici. Mon portable : {phone:06 12 34 56 78}. Adresse : "
        "{address:12 rue de la Paix}, 75002 Paris. Commande n° 4412.",
    ),
    (
        {"names": ("Giulia Rossi",), "phones": ("+393471234567",), "region": "IT"},
        "Ciao, sono {name:Giulia}. Il mio cellulare è {phone:+39 347 123 4567}, l'iban "
        "{iban:it60 x054 2811 1010 0000 0123 456}. Spedite a {address:Via Roma 10}. Tracking 1Z999AA10123456784.",
    ),
    (
        {"names": ("Sanne de Vries",), "phones": ("+31612345678",), "region": "NL"},
        "Hoi, met {name:Sanne de Vries}. Bel me op {phone:06-12345678}. Mijn adres is {address:Keizersgracht 123}. "
        "Bestelling 66120.",
    ),
    (
        {"names": ("Emily Clarke",), "phones": ("+447700900123",), "region": "GB"},
        "Hi, it's {name:Emily} again. Mobile {phone:07700 900123}, office {phone:020 7946 0958}, card "
        "{card:4111-1111-1111-1111}. Please send it to {address:221B Baker Street}. Order #100234567, thanks! "
        "IBAN {iban:GB29NWBK60161331926819}. Version 2.4.10 of the app.",
    ),
    (
        {"names": ("Mike Johnson",), "phones": ("+14155552671",), "region": "US"},
        "hey this is {name:mike johnson}, text me at {phone:415.555.2671} or {email:mike (at) example (dot) com}. "
        "my router is at {ip:2001:db8::1} lol. order 55120 from 2024-11-27 10:30",
    ),
    (
        {"names": ("Sarah Miller",), "region": "US"},
        "My number is {phone:+1-415-555-2671} and email {email:sarah_miller+shop@mail.example.co.uk}. Ship to "
        "{address:1600 Pennsylvania Avenue NW}, Washington. Barcode 4006381333931 on the box, card "
        "{card:5500 0000 0000 0004}.",
    ),
    (
        {"names": ("Ana Lima",), "emails": ("ana.lima@example.org",), "region": "PT"},
        "{name:Ana} again: {email:ANA.LIMA@EXAMPLE.ORG} — please don't call 800 before 10:30. "
        "Ticket 12345678 is still open.",
    ),
]


def unmark(marked: str) -> tuple[str, list[tuple[str, int, int]]]:
    text, spans, position = "", [], 0
    for m in MARK.finditer(marked):
        text += marked[position : m.start()]
        spans.append((m.group(1), len(text), len(text) + len(m.group(2))))
        text += m.group(2)
        position = m.end()
    return text + marked[position:], spans
