"""German sample words for the demo data: names, places, streets, trades."""

FIRST_F = ["Anna", "Katrin", "Sabine", "Julia", "Lea", "Nina", "Maria", "Eva", "Jana", "Laura", "Sophie",
           "Claudia", "Petra", "Monika", "Sandra", "Melanie", "Stefanie", "Lena", "Hannah", "Aylin",
           "Birgit", "Ute", "Carina", "Franziska", "Johanna", "Miriam", "Selin", "Tanja", "Kerstin", "Ines"]
FIRST_M = ["Thomas", "Jonas", "Markus", "Frank", "Peter", "Lars", "Franz", "Tim", "Sven", "Mehmet", "Michael",
           "Andreas", "Stefan", "Christian", "Tobias", "Florian", "Matthias", "Jan", "Lukas", "Daniel",
           "Ralf", "Uwe", "Jürgen", "Klaus", "Dirk", "Holger", "Oliver", "Bernd", "Timo", "Henrik"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
        "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
        "Köhler", "Herrmann", "König", "Walter", "Mayer", "Huber", "Kaiser", "Fuchs", "Peters", "Lang",
        "Scholz", "Möller", "Weiß", "Jung", "Hahn", "Vogel", "Friedrich", "Keller", "Günther", "Frank",
        "Berger", "Winkler", "Roth", "Beck", "Lorenz", "Baumann", "Franke", "Albrecht", "Schuster", "Simon",
        "Ludwig", "Böhm", "Winter", "Kraus", "Martin", "Schumacher", "Krämer", "Vogt", "Stein", "Jäger",
        "Otto", "Sommer", "Groß", "Seidel", "Heinrich", "Brandt", "Haas", "Schreiber", "Graf", "Dietrich",
        "Ziegler", "Kuhn", "Kühn", "Pohl", "Engel", "Horn", "Busch", "Bergmann", "Thomas", "Voigt",
        "Sauer", "Arnold", "Wolff", "Pfeiffer", "Yılmaz", "Kaya", "Demir", "Nowak", "Kowalski", "Petersen"]
NORTH = [("Hamburg", "20"), ("Bremen", "28"), ("Kiel", "24"), ("Hannover", "30"), ("Rostock", "18"),
         ("Lübeck", "23"), ("Oldenburg", "26"), ("Osnabrück", "49"), ("Flensburg", "24"), ("Braunschweig", "38")]
SOUTH = [("München", "80"), ("Stuttgart", "70"), ("Nürnberg", "90"), ("Augsburg", "86"), ("Regensburg", "93"),
         ("Freiburg", "79"), ("Ulm", "89"), ("Würzburg", "97"), ("Ingolstadt", "85"), ("Karlsruhe", "76")]
MIDDLE = [("Kassel", "34"), ("Göttingen", "37"), ("Fulda", "36"), ("Marburg", "35"), ("Erfurt", "99"),
          ("Frankfurt am Main", "60"), ("Gießen", "35"), ("Paderborn", "33"), ("Bad Hersfeld", "36"), ("Eisenach", "99")]
STREETS = ["Hauptstraße", "Bahnhofstraße", "Industriestraße", "Gartenstraße", "Schulstraße", "Lindenweg",
           "Am Markt", "Mühlenweg", "Birkenallee", "Gewerbering", "Hafenstraße", "Kirchplatz", "Ringstraße",
           "Dorfstraße", "Am Sportplatz", "Waldweg", "Friedrichstraße", "Uferstraße", "Kastanienallee", "Talstraße"]
COMPANY_STEMS = ["Nordlicht", "Hanse", "Alster", "Weser", "Elbe", "Isar", "Alpen", "Donau", "Bodensee", "Schwarzwald",
                 "Rhön", "Werra", "Fulda", "Harz", "Taunus", "Main", "Neckar", "Allgäu", "Küsten", "Heide",
                 "Sonnen", "Berg", "Tal", "Stern", "Falken", "Adler", "Eichen", "Linden", "Brücken", "Mühlen"]
COMPANY_KINDS = ["Logistik", "Bau", "Immobilien", "Wohnbau", "Hausverwaltung", "Maschinenbau", "Metallbau",
                 "Lebensmittel", "Kliniken", "Hotels", "Stadtwerke", "Brauerei", "Druckerei", "Möbelwerk",
                 "Autohaus", "Energie", "Kunststofftechnik", "Elektrotechnik", "Verpackung", "Spedition"]
LEGAL = ["GmbH", "GmbH & Co. KG", "AG", "KG", "e.K.", "GmbH", "GmbH", "OHG"]
POSITIONS = ["Geschäftsführer:in", "Einkauf", "Technische Leitung", "Hausmeister", "Objektleitung",
             "Assistenz der Geschäftsführung", "Facility Management", "Prokurist:in", "Buchhaltung",
             "Vertriebsleitung", "Produktionsleitung", "Inhaber:in", "Bauleitung", "Werksleitung"]
NOTE_TEXTS = {
    "call": ["Telefonat mit {p}: Interesse an {topic}, bittet um Rückruf nächste Woche.",
             "{p} angerufen, nicht erreicht. Neuer Versuch am Donnerstag.",
             "Kurzes Gespräch mit {p}: Budget für {topic} wird im nächsten Quartal freigegeben.",
             "Rückruf von {p}: Fragen zum Angebot geklärt, Entscheidung Ende des Monats."],
    "email": ["Unterlagen zu {topic} an {p} geschickt.", "{p} bestätigt den Termin per Mail.",
              "Angebot für {topic} per E-Mail versandt, Lesebestätigung erhalten."],
    "meeting": ["Termin vor Ort bei {c}: Bestandsaufnahme für {topic} gemacht, Fotos im Ordner.",
                "Messegespräch mit {p}: sehr interessiert an {topic}.",
                "Jahresgespräch mit {p}. Zufrieden, wünscht schnellere Reaktionszeiten."],
    "note": ["{c} plant Erweiterung am Standort, im Blick behalten.", "Ansprechpartner gewechselt, neue Kontaktdaten eingetragen.",
             "Zahlt zuverlässig, Skonto wird genutzt.", "Wichtig: Anfragen immer an die Zentrale in Kopie."],
}
TASK_TEXTS = ["Angebot nachfassen", "Termin vereinbaren", "Rückruf", "Unterlagen schicken", "Vertrag prüfen",
              "Besuch vor Ort planen", "Weihnachtskarte", "Referenzliste senden", "Preise aktualisieren"]
