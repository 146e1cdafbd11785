"""Natural features and regions by language, for the PII name tagger's gazetteer (training script only).

Written by hand from general knowledge for issue #18: the rivers, lakes, mountains and ranges, islands, coasts,
valleys, peninsulas, bays, seas, national parks and forests (``NATURAL_FEATURES``) and the states, provinces,
counties and historic or touristic regions (``REGIONS``) that people name in chats about travel, weather, moving
house or hiking, and that the city, country and address lists do not hold. Each dict maps a language code (en, de,
fr, es, it, pt, nl, pl) to names as they are written mid-sentence in that language (its own exonyms: "Rhein",
"Rhine", "Rhin", "Reno", "Rijn", "Ren"), first those of the countries where the language is spoken, then
well-known ones elsewhere.

How entries are written:
- as in running text, without a leading article ("Alps", "Zugspitze", "Loire") but with the articles inside a
  name ("Pays de la Loire", "Costa del Sol"); the few names whose article is part of the name keep it
  ("La Palma", "El Hierro", "La Rioja");
- the generic word stays where it is usually written with the name ("Lake District", "Bodensee", "Mont Blanc"),
  lower-case where the language writes it so ("lac d'Annecy", "mer du Nord", "lago di Como"); where the bare name
  is used too, it is its own entry ("Skye" besides "Isle of Skye");
- Polish names in the nominative only (the training script makes the case forms);
- left out: single words that are also common words of the language or of English (Main, Inn, Oder, Po, Lot,
  Tarn), names that are mainly a person's name, and names that are mainly a city's (those are in the city lists);
- no name twice within a language (across both dicts).

The lists are written as ";"-separated text, one theme per line, and split by ``_names``.
"""

from __future__ import annotations


def _names(text: str) -> list[str]:
    """Split ";"-separated names (newlines are separators too), dropping blanks."""
    return [name.strip() for line in text.splitlines() for name in line.split(";") if name.strip()]


_EN_FEATURES = _names("""
Thames; River Thames; Severn; River Severn; Tyne; River Tyne; Mersey; River Mersey; Humber; Tamar; Wye; River Wye
River Trent; River Tweed; River Clyde; River Tay; River Shannon; Liffey; River Liffey; River Spey; River Dee
River Avon
Lake District; Windermere; Lake Windermere; Loch Ness; Loch Lomond; Loch Tay; Loch Awe; Ullswater; Derwentwater
Coniston Water; Lough Neagh; Lough Derg; Lough Erne; Bala Lake; Kielder Water; Lakes of Killarney
Ben Nevis; Snowdon; Yr Wyddfa; Scafell Pike; Helvellyn; Skiddaw; Ben Macdui; Ben Lomond; Cairn Gorm; Carrauntoohil
Croagh Patrick; Slieve Donard; Pen y Fan; Pennines; Peak District; Yorkshire Dales; North York Moors; Dartmoor
Exmoor; Bodmin Moor; Snowdonia; Eryri; Brecon Beacons; Chilterns; Chiltern Hills; South Downs; North Downs
Mendip Hills; Malvern Hills; Quantock Hills; Cairngorms; Grampians; Grampian Mountains; Trossachs; Cuillin
Cheviot Hills; Mourne Mountains; Wicklow Mountains; Macgillycuddy's Reeks; Glen Coe; Great Glen; Cheddar Gorge
Isle of Skye; Skye; Isle of Wight; Isle of Man; Anglesey; Isle of Mull; Isle of Arran; Islay; Orkney; Orkney Islands
Shetland; Shetland Islands; Hebrides; Outer Hebrides; Inner Hebrides; Isle of Lewis; Isles of Scilly; Scilly
Lindisfarne; Channel Islands; Guernsey; Alderney; Sark; Aran Islands; Achill Island; Valentia Island
Jurassic Coast; Giant's Causeway; Cliffs of Moher; Wild Atlantic Way; Ring of Kerry; Dingle Peninsula; Gower Peninsula
Lizard Peninsula; Land's End; White Cliffs of Dover; Norfolk Broads; Solent; Morecambe Bay; Cardigan Bay; Moray Firth
Firth of Forth; Bristol Channel; English Channel; Irish Sea; North Sea; Celtic Sea; Pembrokeshire Coast
New Forest; Sherwood Forest; Forest of Dean; Kielder Forest; Epping Forest; Thetford Forest
Mississippi River; Missouri River; Colorado River; Hudson River; Columbia River; Ohio River; Rio Grande; Potomac
Yukon River; Niagara Falls; Lake Michigan; Lake Superior; Lake Huron; Lake Erie; Lake Ontario; Great Lakes
Lake Tahoe; Great Salt Lake; Lake Powell; Lake Mead; Grand Canyon; Yosemite; Yellowstone; Zion National Park
Glacier National Park; Death Valley; Joshua Tree; Everglades; Great Smoky Mountains; Smoky Mountains; Appalachians
Appalachian Mountains; Rocky Mountains; Rockies; Sierra Nevada; Cascade Range; Mount Rainier; Mount Whitney
Mount Shasta; Mount St. Helens; Denali; Pikes Peak; Mount Rushmore; Grand Teton; Tetons; Bryce Canyon
Arches National Park; Monument Valley; Napa Valley; Cape Cod; Martha's Vineyard; Nantucket; Long Island
Florida Keys; Outer Banks; Chesapeake Bay; Puget Sound; Mojave Desert; Mojave; Sonoran Desert; Big Sur
Olympic Peninsula; Acadia National Park; Adirondacks; Catskills; Blue Ridge Mountains; Ozarks; Gulf of Mexico
Maui; Oahu; Kauai; Waikiki; St. Lawrence River; Fraser River; Lake Louise; Lake Winnipeg; Banff National Park
Jasper National Park; Canadian Rockies; Vancouver Island; Cape Breton; Cape Breton Island; Bay of Fundy; Hudson Bay
Georgian Bay; Algonquin Park; Uluru; Ayers Rock; Great Barrier Reef; Blue Mountains; Murray River; Kakadu
Whitsundays; Whitsunday Islands; Fraser Island; K'gari; Kangaroo Island; Great Ocean Road
Snowy Mountains; Mount Kosciuszko; Daintree; Bondi Beach; Sunshine Coast; Milford Sound; Fiordland; Lake Taupo
Lake Wakatipu; Aoraki; Mount Cook; Tongariro; Southern Alps; Bay of Islands; Abel Tasman National Park
Stewart Island; North Island; South Island
Alps; Pyrenees; Dolomites; Apennines; Carpathians; Tatras; Tatra Mountains; Urals; Caucasus; Himalayas; Andes
Atlas Mountains; Mont Blanc; Matterhorn; Eiger; Jungfrau; Zugspitze; Mount Etna; Etna; Vesuvius; Mount Vesuvius
Mount Olympus; Mount Everest; Everest; Kilimanjaro; Mount Kilimanjaro; Mount Fuji; Table Mountain
Rhine; Danube; Rhone; Loire; Seine; Elbe; Vistula; Tagus; Douro; Ebro; Tiber; Arno; Volga; Nile; Amazon River
Amazon rainforest; Ganges; Yangtze; Mekong; Zambezi; Congo River; Lake Geneva; Lake Constance; Lake Como
Lake Garda; Lake Maggiore; Lake Lucerne; Lake Lugano; Lake Annecy; Lake Bled; Lake Balaton; Balaton; Lake Ohrid
Plitvice Lakes; Lake Titicaca; Lake Victoria; Lake Baikal; Dead Sea; Mediterranean; Mediterranean Sea; Baltic Sea
Adriatic; Adriatic Sea; Aegean; Aegean Sea; Black Sea; Caspian Sea; Red Sea; Caribbean; Caribbean Sea; Atlantic
Atlantic Ocean; Pacific Ocean; Indian Ocean; Arctic Ocean; Bay of Biscay
Mallorca; Majorca; Menorca; Minorca; Ibiza; Formentera; Tenerife; Gran Canaria; Lanzarote; Fuerteventura; La Palma
La Gomera; Canary Islands; Balearic Islands; Balearics; Madeira; Azores; Sicily; Sardinia; Corsica; Crete; Corfu
Santorini; Mykonos; Cyclades; Capri; Elba; Gozo; Sylt; Lofoten; Svalbard; Faroe Islands; Amalfi Coast
Cinque Terre; Costa Brava; Costa del Sol; Costa Blanca; French Riviera; Côte d'Azur; Black Forest; Geirangerfjord
Bavarian Alps; Swiss Alps; Julian Alps; Verdon Gorge; Massif Central; Vosges; Ardennes; Sahara; Sahara Desert
Gobi Desert; Galápagos Islands; Galapagos; Iguazu Falls; Victoria Falls; Angel Falls; Serengeti; Masai Mara
Kruger National Park; Okavango Delta; Bali; Phuket; Koh Samui; Zanzibar; Tahiti; Bora Bora; Ha Long Bay
""")

_EN_REGIONS = _names("""
Cotswolds; Scottish Highlands; Scottish Borders; Cornwall; Devon; Dorset; Somerset; Wiltshire; Hampshire
East Sussex; West Sussex; Sussex; Essex; Suffolk; Cambridgeshire; Oxfordshire; Buckinghamshire; Hertfordshire
Berkshire; Gloucestershire; Herefordshire; Worcestershire; Warwickshire; Shropshire; Staffordshire; Derbyshire
Nottinghamshire; Leicestershire; Lincolnshire; Northamptonshire; Yorkshire; North Yorkshire; West Yorkshire
South Yorkshire; East Riding of Yorkshire; Lancashire; Cumbria; Northumberland; County Durham; Cheshire; Merseyside
Greater Manchester; Tyne and Wear; West Midlands; East Midlands; East Anglia; Home Counties; Midlands; West Country
Black Country; Pembrokeshire; Gwynedd; Ceredigion; Powys; Carmarthenshire; Perthshire; Argyll; Aberdeenshire
Lothian; Dumfries and Galloway; Ayrshire; County Kerry; Connemara; County Donegal; County Cork
County Clare; County Wicklow; County Galway; County Mayo; County Antrim; County Down; Munster; Leinster; Connacht
Ulster; Burren
New England; Midwest; Pacific Northwest; Deep South; Bay Area; Upstate New York; Hamptons; Florida Panhandle
Appalachia; Great Plains; Texas Hill Country; Southern California; Northern California; Silicon Valley; Rust Belt
Ontario; British Columbia; Alberta; Saskatchewan; Manitoba; Nova Scotia; New Brunswick; Newfoundland
Newfoundland and Labrador; Prince Edward Island; Yukon; Northwest Territories; Nunavut; Maritimes; Muskoka
Queensland; New South Wales; Tasmania; South Australia; Western Australia; Northern Territory
Barossa Valley; Hunter Valley; Otago; Northland; Coromandel; Hawke's Bay; Waikato
Bavaria; Tuscany; Provence; Normandy; Alsace; Dordogne; Loire Valley; Lombardy; Piedmont; Umbria; Apulia; Puglia
Calabria; Andalusia; Catalonia; Basque Country; Galicia; Castile; Asturias; Algarve; Flanders; Wallonia; Silesia
Masuria; Transylvania; Dalmatia; Istria; Lapland; Scandinavia; Balkans; Tyrol; South Tyrol; Saxony; Thuringia
Rhineland; Westphalia; Lower Saxony; Baden-Württemberg; Kashmir; Siberia; Patagonia; Tibet; Bohemia; Moravia
Peloponnese; Anatolia; Cappadocia; Crimea
""")

_DE_FEATURES = _names("""
Rhein; Donau; Elbe; Weser; Mosel; Neckar; Isar; Saar; Ruhr; Lahn; Saale; Havel; Werra; Altmühl; Salzach
Iller; Wupper; Ahr; Eder; Aare; Limmat; Rhone; Drau; Moldau; Weichsel; Themse; Loire; Tiber; Wolga
Amazonas; Ebro; Tajo; Etsch; Rheinfall; Mittelrhein; Oberrhein; Niederrhein; Rheintal; Donautal; Elbtal; Moseltal
Neckartal; Inntal; Zillertal; Ötztal; Stubaital; Pitztal; Paznaun; Kaunertal; Gasteinertal; Montafon; Kleinwalsertal
Lötschental; Wachau; Altmühltal; Höllental; Partnachklamm; Breitachklamm
Bodensee; Chiemsee; Starnberger See; Ammersee; Königssee; Müritz; Steinhuder Meer; Wörthersee; Attersee; Traunsee
Mondsee; Wolfgangsee; Neusiedler See; Genfersee; Genfer See; Vierwaldstättersee; Zürichsee; Thunersee; Brienzersee
Walensee; Hallstätter See; Titisee; Schluchsee; Edersee; Plauer See; Lago Maggiore; Gardasee; Comer See
Luganer See; Plattensee; Balaton; Bleder See; Ohridsee; Baikalsee; Viktoriasee; Titicacasee; Plitvicer Seen
Zugspitze; Watzmann; Feldberg; Großglockner; Wildspitze; Dachstein; Matterhorn; Eiger; Jungfraujoch
Rigi; Säntis; Titlis; Mont Blanc; Montblanc; Piz Bernina; Ortler; Fichtelberg; Wendelstein; Wasserkuppe
Schneekoppe; Großer Arber; Kehlstein; Nebelhorn; Hochkönig; Großvenediger; Piz Palü; Dufourspitze; Aletschgletscher
Rhonegletscher; Pasterze; Gotthard; Gotthardpass; Brennerpass; Berninapass; Furkapass; Splügenpass; Stilfser Joch
Timmelsjoch; Arlberg; Fernpass; Semmering; Loreley; Drachenfels; Kaiserstuhl; Belchen; Kap Arkona
Alpen; Eifel; Schwarzwald; Hochschwarzwald; Bayerischer Wald; Oberpfälzer Wald; Erzgebirge; Thüringer Wald
Odenwald; Spessart; Rhön; Taunus; Hunsrück; Sauerland; Westerwald; Fichtelgebirge; Frankenwald; Steigerwald
Schwäbische Alb; Fränkische Schweiz; Sächsische Schweiz; Elbsandsteingebirge; Teutoburger Wald; Siebengebirge
Rothaargebirge; Kyffhäuser; Pfälzerwald; Karwendel; Wettersteingebirge; Allgäuer Alpen; Ammergauer Alpen
Chiemgauer Alpen; Berchtesgadener Alpen; Zillertaler Alpen; Ötztaler Alpen; Kitzbüheler Alpen; Hohe Tauern
Dolomiten; Pyrenäen; Karpaten; Vogesen; Ardennen; Apenninen; Tatra; Hohe Tatra; Riesengebirge; Julische Alpen
Kaukasus; Ural; Himalaya; Anden; Rocky Mountains; Mount Everest; Kilimandscharo; Ätna; Vesuv; Olymp; Wienerwald
Lüneburger Heide; Spreewald; Darß; Fischland; Kurische Nehrung; Wattenmeer; Halligen
Nationalpark Bayerischer Wald; Nationalpark Berchtesgaden; Nationalpark Jasmund; Jasmund; Nationalpark Hohe Tauern
Nationalpark Sächsische Schweiz; Nationalpark Eifel; Nationalpark Harz; Nationalpark Schwarzwald; Müritz-Nationalpark
Schweizerischer Nationalpark; Nationalpark Kalkalpen; Nationalpark Gesäuse; Nationalpark Hainich; Hainich; Kellerwald
Rügen; Usedom; Sylt; Föhr; Amrum; Helgoland; Fehmarn; Norderney; Borkum; Langeoog; Spiekeroog; Wangerooge
Baltrum; Hiddensee; Pellworm; Reichenau; Mainau; Herreninsel; Fraueninsel; Nordfriesische Inseln
Ostfriesische Inseln; Mallorca; Menorca; Ibiza; Formentera; Teneriffa; Gran Canaria; Lanzarote; Fuerteventura
La Palma; La Gomera; Kanaren; Kanarische Inseln; Balearen; Madeira; Azoren; Sizilien; Sardinien; Korsika; Kreta
Rhodos; Korfu; Santorini; Mykonos; Kykladen; Capri; Elba; Ischia; Bornholm; Gotland; Lofoten; Spitzbergen; Färöer
Nordsee; Ostsee; Mittelmeer; Adria; Ägäis; Schwarzes Meer; Atlantik; Pazifik; Indischer Ozean; Rotes Meer
Totes Meer; Karibik; Kaspisches Meer; Amalfiküste; Cinque Terre; Costa Brava; Costa del Sol; Costa Blanca
Côte d'Azur; Sahara; Grand Canyon; Niagarafälle; Victoriafälle; Geirangerfjord; Sognefjord; Loch Ness
""")

_DE_REGIONS = _names("""
Bayern; Baden-Württemberg; Nordrhein-Westfalen; Niedersachsen; Sachsen; Sachsen-Anhalt; Thüringen; Hessen
Rheinland-Pfalz; Saarland; Schleswig-Holstein; Mecklenburg-Vorpommern; Brandenburg; Oberbayern; Niederbayern
Oberpfalz; Oberfranken; Mittelfranken; Unterfranken; Schwaben; Allgäu; Chiemgau; Berchtesgadener Land
Werdenfelser Land; Pfalz; Rheinland; Westfalen; Ruhrgebiet; Münsterland; Siegerland; Bergisches Land; Ostfriesland
Emsland; Nordfriesland; Dithmarschen; Altes Land; Uckermark; Prignitz; Lausitz; Oberlausitz; Vogtland; Eichsfeld
Rheingau; Rheinhessen; Kraichgau; Hohenlohe; Breisgau; Markgräflerland; Ortenau; Hegau; Oberschwaben; Altmark
Wendland; Vorpommern; Holsteinische Schweiz
Tirol; Südtirol; Osttirol; Vorarlberg; Salzburger Land; Kärnten; Steiermark; Oberösterreich; Niederösterreich
Burgenland; Waldviertel; Weinviertel; Mostviertel; Mühlviertel; Innviertel; Salzkammergut; Pinzgau; Pongau; Lungau
Graubünden; Wallis; Tessin; Berner Oberland; Emmental; Appenzellerland; Toggenburg; Engadin; Oberengadin
Zürcher Oberland; Aargau; Thurgau; Nidwalden; Obwalden; Waadt; Baselbiet; Romandie; Innerschweiz; Zentralschweiz
Ostschweiz
Elsass; Lothringen; Bretagne; Normandie; Provence; Burgund; Toskana; Lombardei; Piemont; Venetien; Apulien
Kalabrien; Umbrien; Ligurien; Andalusien; Katalonien; Baskenland; Galicien; Kastilien; Asturien; Algarve; Flandern
Wallonien; Schlesien; Masuren; Pommern; Ostpreußen; Siebenbürgen; Böhmen; Mähren; Dalmatien; Istrien; Lappland
Skandinavien; Balkan; Cornwall; Highlands; Schottische Highlands; Patagonien; Sibirien; Tibet; Kaschmir
Kalifornien; Florida; Texas; Neuengland; Peloponnes; Anatolien; Kappadokien; Krim; Dordogne; Languedoc
""")

_FR_FEATURES = _names("""
Seine; Loire; Rhône; Garonne; Rhin; Meuse; Moselle; Marne; Oise; Saône; Durance; Isère; Charente; Indre
Ardèche; Escaut; Verdon; Adour; Yonne; Aisne; Sarthe; Mayenne; Doubs; Aveyron; Hérault; Gironde; Dordogne
Semois; Ourthe; Lesse; Sambre; Léman; lac Léman; lac d'Annecy; lac du Bourget; lac de Serre-Ponçon
lac de Sainte-Croix; lac de Neuchâtel; lac des Quatre-Cantons; lac de Constance; lac de Côme; lac de Garde
lac Majeur; lac Balaton; lac Titicaca; lac Baïkal; lac Victoria; lac Saint-Jean; fleuve Saint-Laurent; Saguenay
fjord du Saguenay; Grands Lacs; Mont Blanc; Mont-Blanc; massif du Mont-Blanc; Mont Ventoux; Ventoux
Mont Saint-Michel; Mont-Saint-Michel; baie du Mont-Saint-Michel; Aiguille du Midi; Puy de Dôme; Puy de Sancy
Pic du Midi; Mont Aigoual; Cervin; Eiger; Jungfrau; Mont Rose; Dents du Midi; Moléson; Chasseral; Mont Tremblant
Alpes; Pyrénées; Vosges; Massif central; Cévennes; Morvan; Vercors; Queyras; Mercantour; Écrins
Vanoise; Beaufortain; Bauges; Aravis; Chaîne des Puys; Monts d'Arrée; Ardennes; Hautes Fagnes; Luberon; Alpilles
Camargue; Calanques; gorges du Verdon; gorges du Tarn; gorges de l'Ardèche; cirque de Gavarnie; Gavarnie
dune du Pilat; Côte d'Azur; Côte d'Opale; Côte d'Émeraude; Côte de Granit rose; Côte Vermeille; Côte d'Argent
Cap Corse; Cap Fréhel; Cap Gris-Nez; Cap Blanc-Nez; pointe du Raz; baie de Somme; golfe du Morbihan
bassin d'Arcachon; forêt de Fontainebleau; forêt de Brocéliande; Brocéliande; Lavaux
Corse; Belle-Île; Belle-Île-en-Mer; île de Ré; île d'Oléron; Oléron; île d'Yeu; Noirmoutier; Porquerolles
Ouessant; Bréhat; îles d'Hyères; Martinique; Guadeloupe; Tahiti; Bora-Bora; Nouvelle-Calédonie; Mayotte
Saint-Barthélemy; Îles-de-la-Madeleine; îles de la Madeleine; Anticosti; Rocher Percé; chutes Montmorency
chutes du Niagara; mer du Nord; mer Méditerranée; Méditerranée; Atlantique; océan Atlantique
océan Pacifique; océan Indien; mer Baltique; Baltique; Adriatique; mer Égée; mer Noire; mer Rouge; mer Morte
mer Caspienne; Caraïbes; golfe de Gascogne
Danube; Tamise; Tibre; Elbe; Vistule; Douro; Èbre; Volga; Mississippi; Gange; Mékong
Dolomites; Apennins; Carpates; Tatras; Balkans; Oural; Caucase; Himalaya; Andes; Rocheuses; montagnes Rocheuses
Everest; Kilimandjaro; Etna; Vésuve; Olympe; mont Fuji; Forêt-Noire; Zugspitze; Cervino
Majorque; Minorque; Ibiza; Formentera; Tenerife; Ténérife; Grande Canarie; Lanzarote; Fuerteventura; La Palma
Canaries; îles Canaries; Baléares; îles Baléares; Madère; Açores; Sicile; Sardaigne; Crète; Corfou; Santorin
Mykonos; Cyclades; Capri; île d'Elbe; Lofoten; Spitzberg; îles Féroé; Sylt; Bali; Zanzibar
Côte amalfitaine; Cinque Terre; Costa Brava; Costa del Sol; Costa Blanca; Algarve; Sahara; Grand Canyon
Yosemite; Yellowstone; Vallée de la Mort; Grande Barrière de corail; Loch Ness; Highlands; Galápagos
fleuve Amazone
""")

_FR_REGIONS = _names("""
Île-de-France; Normandie; Bretagne; Hauts-de-France; Grand Est; Bourgogne; Bourgogne-Franche-Comté; Franche-Comté
Centre-Val de Loire; Val de Loire; Pays de la Loire; Nouvelle-Aquitaine; Aquitaine; Occitanie; Auvergne
Auvergne-Rhône-Alpes; Rhône-Alpes; Provence; Provence-Alpes-Côte d'Azur; Alsace; Champagne-Ardenne; Picardie
Limousin; Poitou; Poitou-Charentes; Languedoc; Languedoc-Roussillon; Roussillon; Midi-Pyrénées; Périgord; Quercy
Gascogne; Béarn; Pays basque; Savoie; Haute-Savoie; Dauphiné; Sologne; Beauce; Vexin; Cotentin; Pays d'Auge
Vaucluse; Var; Bouches-du-Rhône; Alpes-Maritimes; Hautes-Alpes; Alpes-de-Haute-Provence; Finistère; Morbihan
Côtes-d'Armor; Ille-et-Vilaine; Loire-Atlantique; Vendée; Charente-Maritime; Lot-et-Garonne; Pyrénées-Atlantiques
Hautes-Pyrénées; Ariège; Haute-Garonne; Lozère; Cantal; Puy-de-Dôme; Haute-Loire; Drôme; Ain; Haute-Saône
Côte-d'Or; Saône-et-Loire; Nièvre; Bas-Rhin; Haut-Rhin; Meurthe-et-Moselle; Pas-de-Calais; Seine-Saint-Denis
Val-de-Marne; Hauts-de-Seine; Seine-et-Marne; Yvelines; Essonne; Val-d'Oise; Corrèze; Creuse; Haute-Vienne; Gers
Tarn-et-Garonne; Aude; Pyrénées-Orientales; Corse-du-Sud; Haute-Corse; Pays de Caux
Wallonie; Flandre; Brabant wallon; Hainaut; Gaume; Condroz; Famenne
Valais; Vaud; Tessin; Grisons; Romandie; Suisse romande; Oberland bernois
Gaspésie; Charlevoix; Laurentides; Mauricie; Outaouais; Abitibi; Abitibi-Témiscamingue; Estrie; Cantons-de-l'Est
Côte-Nord; Bas-Saint-Laurent; Montérégie; Lanaudière; Nunavik; Acadie
Bavière; Toscane; Lombardie; Piémont; Vénétie; Ligurie; Pouilles; Calabre; Ombrie; Andalousie; Catalogne; Galice
Castille; Asturies; Silésie; Transylvanie; Bohême; Dalmatie; Istrie; Laponie; Scandinavie; Tyrol; Sud-Tyrol
Saxe; Rhénanie; Westphalie; Cornouailles; Patagonie; Sibérie; Tibet; Californie; Floride; Louisiane
Nouvelle-Angleterre; Ontario; Colombie-Britannique; Alberta; Nouvelle-Écosse; Nouveau-Brunswick; Terre-Neuve
Anatolie; Cappadoce; Crimée; Péloponnèse
""")

_ES_FEATURES = _names("""
Ebro; Tajo; Duero; Guadalquivir; Guadiana; Miño; Júcar; Turia; Genil; Nervión; Pisuerga; Llobregat; Tormes; Bidasoa
Delta del Ebro; Albufera; Mar Menor; Lagunas de Ruidera; Lago de Sanabria; Doñana; Timanfaya; Cabañeros
Caldera de Taburiente; Garajonay; Pirineos; Picos de Europa; Sierra Nevada; Teide; Mulhacén; Aneto; Moncayo
Sierra de Guadarrama; Guadarrama; Sierra de Gredos; Gredos; Sistema Central; Sistema Ibérico; Cordillera Cantábrica
Serranía de Ronda; Sierra Morena; Sierra de Cazorla; Ordesa; Valle de Ordesa; Monte Perdido; Montes de Toledo
Alpujarras; Sierra de Aracena; Sierra de Tramuntana; Montes de Málaga; Caminito del Rey; Cabo de Gata
Cabo de Finisterre; Cabo de Creus; Costa Brava; Costa del Sol; Costa Blanca; Costa Dorada; Costa Daurada
Costa de la Luz; Costa Cálida; Costa Tropical; Costa da Morte; Rías Baixas; Rías Altas; Islas Cíes; Cíes
Mallorca; Menorca; Ibiza; Formentera; Tenerife; Gran Canaria; Lanzarote; Fuerteventura; La Palma; La Gomera
El Hierro; Canarias; Islas Canarias; Baleares; Islas Baleares; Pitiusas
Mediterráneo; mar Mediterráneo; Cantábrico; mar Cantábrico; Atlántico; océano Atlántico; océano Pacífico
océano Índico; golfo de Vizcaya; mar Caribe; Caribe; mar del Norte; mar Báltico; mar Negro; mar Rojo; mar Muerto
Adriático; mar Egeo; estrecho de Gibraltar
Río Bravo; Usumacinta; Lago de Chapala; Popocatépetl; Iztaccíhuatl; Pico de Orizaba; Citlaltépetl; Nevado de Toluca
Sierra Madre; Sierra Madre Oriental; Sierra Madre Occidental; Cañón del Sumidero; Barrancas del Cobre; Cozumel
Isla Mujeres; Holbox; Riviera Maya; Península de Yucatán; Mar de Cortés; golfo de México; golfo de California
Río de la Plata; río Paraná; Iguazú; Cataratas del Iguazú; Aconcagua; Cerro Fitz Roy; glaciar Perito Moreno
Tierra del Fuego; Península Valdés; Lago Nahuel Huapi; Nahuel Huapi; Quebrada de Humahuaca; Talampaya
Cordillera de los Andes; Andes; Atacama; Desierto de Atacama; Torres del Paine; Isla de Pascua; Rapa Nui; Chiloé
Lago General Carrera; Valle del Elqui; Volcán Villarrica; Ojos del Salado; río Magdalena; Sierra Nevada de Santa Marta
Tayrona; Parque Tayrona; Caño Cristales; isla de San Andrés; Amazonas; Amazonía; Valle de Cocora; Nevado del Ruiz
Orinoco; Titicaca; Lago Titicaca; Salar de Uyuni; Uyuni; Galápagos; Islas Galápagos; Machu Picchu
Alpes; Dolomitas; Apeninos; Cárpatos; Balcanes; Urales; Cáucaso; Himalaya; Everest; Kilimanjaro; Montañas Rocosas
Mont Blanc; Cervino; Etna; Vesubio; Olimpo; Rin; Danubio; Sena; Loira; Ródano; Támesis; Tíber; Elba; Vístula; Volga
Nilo; Misisipi; Selva Negra; lago de Garda; lago de Como; lago Lemán; lago de Ginebra; lago de Constanza; Sicilia
Cerdeña; Córcega; Creta; isla de Rodas; Corfú; Santorini; Mykonos; Cícladas; Capri; Madeira; Azores; Costa Amalfitana
Cinque Terre; Riviera francesa; Costa Azul; Sahara; Gran Cañón; Cañón del Colorado; Cataratas del Niágara
Yosemite; Yellowstone; Gran Barrera de Coral; Loch Ness; Fiordos noruegos; Alpes suizos; Lofoten; Bali; Zanzíbar
""")

_ES_REGIONS = _names("""
Andalucía; Cataluña; Catalunya; Comunidad Valenciana; País Vasco; Euskadi; Galicia; Asturias; Cantabria
Castilla y León; Castilla-La Mancha; Castilla; La Mancha; La Rioja; Aragón; Navarra; Extremadura
Comunidad de Madrid; Región de Murcia; Guipúzcoa; Gipuzkoa; Vizcaya; Bizkaia; Álava; Empordà; Ampurdán
Alto Ampurdán; Penedès; Priorat; Garrotxa; Cerdanya; Maresme; Bierzo; Ribera del Duero; Rioja Alavesa; Axarquía
Alpujarra; Vega Baja; Marina Alta; Ribeira Sacra; Tierra de Campos; Maestrazgo; Valle de Arán; Val d'Aran
Baja California; Baja California Sur; Yucatán; Quintana Roo; Chiapas; Jalisco; Michoacán; Nuevo León
Tamaulipas; Coahuila; Sinaloa; Nayarit; Estado de México; Huasteca
Patagonia; Entre Ríos; Neuquén; Río Negro; Chubut; Gran Chaco; Chaco
Araucanía; Biobío; Aysén; Norte Grande; Valle Central; Antioquia; Cundinamarca; Boyacá; Valle del Cauca
Eje Cafetero; Guajira; Llanos Orientales
Baviera; Toscana; Lombardía; Piamonte; Véneto; Liguria; Apulia; Calabria; Umbría; Provenza; Bretaña; Normandía
Alsacia; Borgoña; Flandes; Valonia; Silesia; Transilvania; Bohemia; Dalmacia; Istria; Escandinavia; Tirol; Sajonia
Renania; Westfalia; Cornualles; Siberia; Tíbet; Cachemira; California; Texas; Nueva Inglaterra; Algarve
Laponia; Anatolia; Capadocia; Crimea; Peloponeso; Tirol del Sur; Baja Sajonia; Highlands escocesas
""")

_IT_FEATURES = _names("""
Tevere; Arno; Adige; Brenta; Piave; Tagliamento; Isonzo; Adda; Oglio; Mincio; Reno; Volturno; Ofanto; Sangro
Dora Baltea; Dora Riparia; Tanaro; Sesia; Serchio; Aniene; Simeto; Delta del Po; Pianura Padana
lago di Garda; Garda; lago Maggiore; lago di Como; Lario; lago d'Iseo; lago Trasimeno; Trasimeno; lago di Bolsena
lago di Bracciano; lago d'Orta; lago di Braies; lago di Carezza; lago di Lugano; Ceresio; lago di Resia
lago di Molveno; lago di Ledro; lago di Misurina
Monte Bianco; Cervino; Monte Rosa; Gran Paradiso; Marmolada; Ortles; Gran Sasso; Maiella; Majella; Etna; Vesuvio
Stromboli; Tre Cime di Lavaredo; Tre Cime; Sassolungo; Sciliar; Catinaccio; Pale di San Martino; Latemar; Bernina
Adamello; Presanella; Monviso; Monte Cimone; Terminillo; Monte Amiata; Pollino; Aspromonte; Sila; Alpi; Dolomiti
Appennini; Appennino; Alpi Apuane; Alpi Giulie; Prealpi; Alpe di Siusi; Passo dello Stelvio; Stelvio
Passo del Brennero; Passo Pordoi; Passo Giau; Passo Sella; Passo Gardena; Passo Rolle
Val Gardena; Val di Fassa; Val Badia; Val di Non; Val di Sole; Val Pusteria; Val Venosta; Valtellina; Val d'Orcia
Val Seriana; Val Camonica; Valsugana; Val di Susa; Val di Chiana; Valdarno; Val Rendena; Valle d'Aosta
Sicilia; Sardegna; Elba; isola d'Elba; Capri; Ischia; Procida; Eolie; isole Eolie; Lipari; Panarea; Filicudi
Alicudi; Egadi; isole Egadi; Favignana; Pantelleria; Lampedusa; isola del Giglio; Giannutri; Ponza; Ventotene
Tremiti; isole Tremiti; arcipelago della Maddalena; Asinara; Burano; Murano
Costiera Amalfitana; Cinque Terre; Riviera Romagnola; Riviera Ligure; Riviera dei Fiori; Riviera di Levante
Riviera di Ponente; Costa Smeralda; Costa Azzurra; Gargano; Cilento; Conero; Monte Conero; Argentario
Monte Argentario; golfo di Napoli; Golfo dei Poeti; Tigullio; golfo del Tigullio; Foreste Casentinesi
Parco nazionale del Gran Paradiso; Parco nazionale d'Abruzzo; Parco nazionale dello Stelvio
Mediterraneo; mar Mediterraneo; Adriatico; mar Adriatico; Tirreno; mar Tirreno; Ionio; mar Ionio; mar Ligure
mar Egeo; mar Nero; mar Rosso; mar Morto; mar Baltico; mare del Nord; Atlantico; oceano Atlantico
oceano Pacifico; oceano Indiano; Caraibi
Danubio; Senna; Loira; Rodano; Tamigi; Vistola; Tago; Ebro; Volga; Nilo; Rio delle Amazzoni; Mississippi; Gange
Pirenei; Carpazi; Balcani; Urali; Caucaso; Himalaya; Ande; Montagne Rocciose; Everest; Kilimangiaro; Olimpo
Eiger; Jungfrau; Zugspitze; Foresta Nera; lago di Costanza; Lemano; lago Lemano; lago di Ginevra; Balaton
lago di Bled; laghi di Plitvice; Maiorca; Minorca; Ibiza; Formentera; Tenerife; Gran Canaria; Lanzarote
Fuerteventura; Canarie; isole Canarie; Baleari; isole Baleari; Madeira; Azzorre; Corsica; Corfù; Santorini
Mykonos; Cicladi; Costa Brava; Costa del Sol; Sahara; Gran Canyon; cascate del Niagara; Yosemite; Yellowstone
lago Vittoria; Titicaca; Bali; Zanzibar; Galapagos; isole Galapagos; Lofoten; Loch Ness; Mont Blanc
isola di Creta
""")

_IT_REGIONS = _names("""
Lombardia; Piemonte; Veneto; Toscana; Emilia-Romagna; Romagna; Liguria; Umbria; Lazio; Abruzzo; Molise
Campania; Puglia; Basilicata; Calabria; Trentino; Trentino-Alto Adige; Alto Adige; Sudtirolo; Friuli
Friuli-Venezia Giulia; Venezia Giulia; Carnia; Langhe; Monferrato; Roero; Maremma; Versilia; Garfagnana
Lunigiana; Mugello; Casentino; Crete Senesi; Ciociaria; Tuscia; Salento; Irpinia; Murge; Valle d'Itria; Brianza
Lomellina; Oltrepò Pavese; Polesine; Cadore; Carso; Agro Pontino; Barbagia; Gallura; Ogliastra; Sulcis; Valdichiana
Baviera; Tirolo; Provenza; Bretagna; Normandia; Alsazia; Borgogna; Linguadoca; Andalusia; Catalogna; Paesi Baschi
Galizia; Castiglia; Asturie; Fiandre; Vallonia; Slesia; Transilvania; Boemia; Moravia; Dalmazia; Istria
Scandinavia; Renania; Sassonia; Vestfalia; Cornovaglia; Patagonia; Siberia; Tibet; Kashmir; California
Texas; Nuova Inghilterra; Algarve; Lapponia; Engadina; Canton Ticino; Grigioni; Vallese; Carinzia; Stiria
Slavonia; Peloponneso; Anatolia; Cappadocia; Crimea; Highlands scozzesi
""")

_PT_FEATURES = _names("""
Tejo; rio Tejo; Douro; rio Douro; Mondego; Guadiana; Vouga; Sado; Zêzere; Cávado; Tâmega; Serra da Estrela
Serra de Sintra; Serra do Gerês; Gerês; Peneda-Gerês; Parque Nacional da Peneda-Gerês; Serra da Arrábida
Arrábida; Serra do Marão; Serra de Monchique; Monchique; Montanha do Pico; Porto Santo; Açores; Faial
Berlengas; ilhas Berlengas; Ria Formosa; Ria de Aveiro; Costa Vicentina; Costa Alentejana; Costa de Prata
Costa Verde; Cabo da Roca; Cabo de São Vicente; Lagoa das Sete Cidades; Sete Cidades; Alqueva; Vale do Douro
rio Amazonas; Amazônia; Amazónia; Floresta Amazônica; rio São Francisco; rio Paraná; Tietê; rio Tietê; rio Negro
Solimões; Xingu; Tapajós; Araguaia; Mata Atlântica; Chapada Diamantina; Chapada dos Veadeiros
Chapada dos Guimarães; Lençóis Maranhenses; Jalapão; Fernando de Noronha; Ilha Grande; Ilhabela; Ilha do Mel
Abrolhos; Cataratas do Iguaçu; Iguaçu; Pão de Açúcar; Corcovado; Serra do Mar; Serra da Mantiqueira; Serra Gaúcha
Serra dos Órgãos; Pico da Bandeira; Pico da Neblina; Baía de Guanabara; Baía de Todos os Santos; Lagoa dos Patos
Jericoacoara; Morro de São Paulo; Ilha de Santa Catarina; Itaimbezinho; Chapada do Araripe; Vale do Itajaí
Atlântico; oceano Atlântico; oceano Pacífico; oceano Índico; Mediterrâneo; mar Mediterrâneo
mar do Norte; mar Báltico; mar Negro; mar Vermelho; mar Morto; Caribe; Caraíbas; Adriático; mar Egeu
Reno; Danúbio; Sena; Ródano; Tâmisa; Tibre; Elba; Vístula; Ebro; Guadalquivir; Volga; Nilo; Mississípi; Ganges
Alpes; Pirenéus; Pireneus; Dolomitas; Apeninos; Cárpatos; Balcãs; Urais; Cáucaso; Himalaias; Himalaia; Andes
Montanhas Rochosas; Evereste; Monte Evereste; Quilimanjaro; Kilimanjaro; Monte Branco; Mont Blanc; Cervino
Matterhorn; Etna; Vesúvio; Olimpo; Maiorca; Menorca; Ibiza; Formentera; Tenerife; Gran Canaria; Lanzarote
Fuerteventura; Canárias; ilhas Canárias; Baleares; Sicília; Sardenha; Córsega; Creta; Rodes; Corfu; Santorini
Míconos; Cíclades; Capri; Costa Brava; Costa do Sol; Costa Amalfitana; Cinque Terre; Côte d'Azur
Riviera Francesa; Floresta Negra; lago de Garda; lago de Como; lago Léman; lago de Genebra; lago de Constança
Titicaca; lago Titicaca; Salar de Uyuni; Galápagos; Machu Picchu; Atacama; deserto do Atacama; Saara; Sahara
Grand Canyon; Cataratas do Niágara; Yellowstone; Yosemite; Grande Barreira de Coral; Loch Ness; Lofoten; Bali
Zanzibar; Terra do Fogo; Cordilheira dos Andes; Lago Vitória
ilha da Madeira; arquipélago da Madeira; Pantanal Mato-Grossense
""")

_PT_REGIONS = _names("""
Algarve; Alentejo; Baixo Alentejo; Alto Alentejo; Ribatejo; Estremadura; Beira Alta; Beira Baixa; Beira Litoral
Trás-os-Montes; Minho; Alto Minho; Alto Douro; Douro Litoral; Bairrada; Costa da Prata
Alagoas; Amapá; Amazonas; Bahia; Ceará; Goiás; Maranhão; Mato Grosso; Mato Grosso do Sul; Minas Gerais; Paraíba
Pernambuco; Piauí; Rio Grande do Norte; Rio Grande do Sul; Rondônia; Roraima; Santa Catarina; Sergipe; Tocantins
Recôncavo Baiano; Vale do Paraíba; Triângulo Mineiro; Pampa gaúcho; Baixada Fluminense; Região dos Lagos
Baviera; Toscana; Lombardia; Piemonte; Provença; Bretanha; Normandia; Alsácia; Borgonha; Andaluzia; Catalunha
País Basco; Galiza; Castela; Astúrias; Flandres; Valônia; Valónia; Silésia; Transilvânia; Boêmia; Boémia
Dalmácia; Ístria; Escandinávia; Tirol; Saxônia; Saxónia; Renânia; Vestfália; Cornualha; Sibéria; Tibete; Caxemira
Califórnia; Flórida; Texas; Nova Inglaterra; Patagônia; Patagónia; Lapônia; Lapónia; Úmbria; Apúlia; Calábria
Ontário; Colúmbia Britânica; Queensland; Tasmânia; Anatólia; Capadócia; Crimeia; Peloponeso; Ligúria; Highlands
Highlands escocesas; Bavária
""")

_NL_FEATURES = _names("""
Rijn; Nederrijn; IJssel; Schelde; Westerschelde; Oosterschelde; Amstel; Dommel; Dijle
Leie; Ourthe; Semois; Lesse; Samber; Moezel; Donau; Elbe; Seine; Loire; Rhône; Theems; Tiber; Wolga; Nijl
Mississippi; Ganges; IJsselmeer; Markermeer; Veluwemeer; Lauwersmeer; Grevelingen; Grevelingenmeer; Veerse Meer
Loosdrechtse Plassen; Vinkeveense Plassen; Friese Meren; Sneekermeer; Tjeukemeer; Bodenmeer; Gardameer; Comomeer
Lago Maggiore; Meer van Genève; Meer van Como; Meer van Garda; Balaton; Titicacameer; Victoriameer
Noordzee; Waddenzee; Wadden; Oostzee; Middellandse Zee; Zwarte Zee; Rode Zee; Dode Zee; Atlantische Oceaan
Stille Oceaan; Indische Oceaan; Adriatische Zee; Egeïsche Zee; Caribische Zee; Caraïben; Noordzeekust; Zeeuwse kust
Texel; Vlieland; Terschelling; Ameland; Schiermonnikoog; Waddeneilanden; Urk; Goeree-Overflakkee; Walcheren
Schouwen-Duiveland; Pampus; Curaçao; Bonaire; Sint Maarten; Sint Eustatius; Mallorca; Menorca; Ibiza
Formentera; Tenerife; Gran Canaria; Lanzarote; Fuerteventura; La Palma; Canarische Eilanden; Balearen; Madeira
Azoren; Sicilië; Sardinië; Corsica; Kreta; Rhodos; Korfoe; Santorini; Mykonos; Cycladen; Capri; Elba; Sylt; Rügen
Bornholm; Lofoten; Spitsbergen; Faeröer; Bali; Sumatra; Borneo; Lombok; Zanzibar
Vaalserberg; Sint-Pietersberg; Veluwe; Hoge Veluwe; Nationaal Park De Hoge Veluwe; Utrechtse Heuvelrug
Drents-Friese Wold; Biesbosch; Oostvaardersplassen; Weerribben; Weerribben-Wieden; Dwingelderveld
Kennemerduinen; Schoorlse Duinen; Zuid-Kennemerland; Meinweg; Loonse en Drunense Duinen; Sallandse Heuvelrug
Holterberg; Hoge Kempen; Nationaal Park Hoge Kempen; Hoge Venen; Brabantse Wal; Zwin; Kalmthoutse Heide
Ardennen; Eifel; Alpen; Pyreneeën; Dolomieten; Apennijnen; Karpaten; Tatra; Balkan; Oeral; Kaukasus; Himalaya
Andes; Rocky Mountains; Mont Blanc; Matterhorn; Zugspitze; Eiger; Jungfrau; Mount Everest; Kilimanjaro; Etna
Vesuvius; Olympus; Zwarte Woud; Schwarzwald; Moezeldal; Rijndal; Zillertal; Ötztal
Costa Brava; Costa del Sol; Costa Blanca; Côte d'Azur; Amalfikust; Cinque Terre; Sahara; Grand Canyon
Niagarawatervallen; Yellowstone; Loch Ness; Schotse Hooglanden; Lake District; Geirangerfjord; Afsluitdijk
Vogezen; Bodensee; Wörthersee; Gardasee; Maasvallei
Amazonegebied
""")

_NL_REGIONS = _names("""
Noord-Holland; Zuid-Holland; Zeeland; Noord-Brabant; Brabant; Limburg; Gelderland; Overijssel; Flevoland; Friesland
Fryslân; Drenthe; Achterhoek; Twente; Salland; Betuwe; Zaanstreek; Westland; Randstad; Kennemerland
Westfriesland; Zeeuws-Vlaanderen; Bommelerwaard; Alblasserwaard; Krimpenerwaard; Hoeksche Waard
Voorne-Putten; Kempen; Meierij; Zuid-Limburg; Vlaanderen; Wallonië; Oost-Vlaanderen; West-Vlaanderen
Vlaams-Brabant; Waals-Brabant; Henegouwen; Westhoek; Pajottenland; Waasland; Meetjesland; Hageland; Haspengouw
Vlaamse Ardennen; Voerstreek
Beieren; Toscane; Lombardije; Piëmont; Veneto; Ligurië; Apulië; Calabrië; Umbrië; Provence; Bretagne; Normandië
Elzas; Bourgondië; Dordogne; Andalusië; Catalonië; Baskenland; Galicië; Castilië; Asturië; Silezië; Transsylvanië
Bohemen; Moravië; Dalmatië; Istrië; Scandinavië; Tirol; Zuid-Tirol; Saksen; Rijnland; Westfalen; Nedersaksen
Sauerland; Cornwall; Lapland; Siberië; Tibet; Kasjmir; Californië; Florida; Texas; Patagonië; Algarve; Ruhrgebied
Noordrijn-Westfalen; Baden-Württemberg; Sleeswijk-Holstein; Karinthië; Stiermarken; Salzburgerland; Vorarlberg
Graubünden; Wallis; Engadin; Berner Oberland; Peloponnesos; Anatolië; Cappadocië; Krim; Languedoc
""")

_PL_FEATURES = _names("""
Wisła; Odra; Narew; Noteć; Dunajec; Pilica; Brda; Drwęca; Biebrza; Poprad; Soła; Skawa; Wkra; Łyna; Prosna; Bzura
Rega; Parsęta; Dunaj; Ren; Łaba; Sekwana; Loara; Rodan; Tamiza; Tyber; Wołga; Missisipi; Ganges; Dniepr; Dniestr
Niemen; Śniardwy; Mamry; Hańcza; Morskie Oko; Czarny Staw; Jezioro Solińskie; Jezioro Żywieckie
Jezioro Czorsztyńskie; Gopło; Wigry; Niegocin; Jeziorak; Łebsko; Wielkie Jeziora Mazurskie; Jezioro Bodeńskie
Jezioro Genewskie; Balaton; Jezioro Garda; Bajkał; Loch Ness; Titicaca; Jezioro Wiktorii
Tatry; Tatry Wysokie; Tatry Zachodnie; Giewont; Kasprowy Wierch; Gubałówka; Świnica; Orla Perć
Dolina Kościeliska; Dolina Chochołowska; Dolina Pięciu Stawów; Dolina Pięciu Stawów Polskich; Beskidy
Beskid Śląski; Beskid Żywiecki; Beskid Sądecki; Beskid Niski; Beskid Mały; Babia Góra; Pilsko; Skrzyczne
Bieszczady; Tarnica; Połonina Wetlińska; Połonina Caryńska; Pieniny; Trzy Korony; Gorce; Turbacz; Karkonosze
Sudety; Góry Stołowe; Szczeliniec Wielki; Góry Sowie; Ślęża; Góry Świętokrzyskie; Łysica; Łysa Góra
Jura Krakowsko-Częstochowska; Ojcowski Park Narodowy; Karpaty; Alpy; Pireneje; Dolomity; Apeniny; Bałkany; Ural
Kaukaz; Himalaje; Góry Skaliste; Mont Blanc; Matterhorn; Zugspitze; Mount Everest; Kilimandżaro; Etna
Wezuwiusz; Olimp; Szwarcwald
Bałtyk; Morze Bałtyckie; Zatoka Gdańska; Zatoka Pucka; Półwysep Helski; Mierzeja Wiślana; Mierzeja Helska
Zalew Wiślany; Zalew Szczeciński; Słowiński Park Narodowy; Wolin; Uznam; Morze Północne; Morze Śródziemne
Adriatyk; Morze Adriatyckie; Morze Czarne; Morze Czerwone; Morze Martwe; Morze Egejskie; Atlantyk; Ocean Atlantycki
Pacyfik; Ocean Spokojny; Ocean Indyjski; Karaiby; Morze Karaibskie
Puszcza Białowieska; Białowieski Park Narodowy; Puszcza Kampinoska; Kampinoski Park Narodowy
Biebrzański Park Narodowy; Tatrzański Park Narodowy; Bieszczadzki Park Narodowy; Karkonoski Park Narodowy
Wigierski Park Narodowy; Roztoczański Park Narodowy; Wielkopolski Park Narodowy; Pieniński Park Narodowy
Gorczański Park Narodowy; Magurski Park Narodowy; Drawieński Park Narodowy; Babiogórski Park Narodowy
Bory Tucholskie; Puszcza Notecka; Puszcza Augustowska; Puszcza Knyszyńska; Dolina Rospudy; Przełom Dunajca
Pustynia Błędowska; Kotlina Kłodzka; Kotlina Jeleniogórska; Dolina Baryczy; Kanał Augustowski; Kanał Elbląski
Majorka; Minorka; Ibiza; Formentera; Teneryfa; Gran Canaria; Lanzarote; Fuerteventura; Wyspy Kanaryjskie; Baleary
Azory; Madeira; Sycylia; Sardynia; Korsyka; Kreta; Rodos; Korfu; Santoryn; Mykonos; Cyklady; Capri; Elba; Bornholm
Rugia; Sylt; Lofoty; Spitsbergen; Wyspy Owcze; Zanzibar; Bali; Costa Brava; Costa del Sol; Lazurowe Wybrzeże
Riwiera Francuska; Wybrzeże Amalfitańskie; Cinque Terre; Sahara; Wielki Kanion; Niagara; Wodospad Niagara
Yellowstone; Wielka Rafa Koralowa; Jezioro Como; Fiordy Norweskie; Alpy Szwajcarskie; Dolomity Włoskie
""")

_PL_REGIONS = _names("""
Mazowsze; Małopolska; Wielkopolska; Pomorze; Pomorze Zachodnie; Pomorze Gdańskie; Śląsk; Górny Śląsk; Dolny Śląsk
Śląsk Cieszyński; Opolszczyzna; Podkarpacie; Lubelszczyzna; Podlasie; Warmia; Mazury; Warmia i Mazury; Kujawy
Ziemia Lubuska; Ziemia Łódzka; Kaszuby; Kociewie; Żuławy; Podhale; Spisz; Orawa; Żywiecczyzna; Zaolzie; Kurpie
Suwalszczyzna; Ponidzie; Powiśle; Pałuki; Ziemia Kłodzka; Polesie; Galicja; Wołyń; Prusy
Prusy Wschodnie; Ziemia Dobrzyńska; Ziemia Chełmińska; Łemkowszczyzna; Sądecczyzna; Kielecczyzna; Mazury Garbate
Bawaria; Toskania; Lombardia; Piemont; Wenecja Euganejska; Apulia; Kalabria; Umbria; Liguria; Prowansja; Bretania
Normandia; Alzacja; Burgundia; Andaluzja; Katalonia; Kraj Basków; Kastylia; Asturia; Flandria; Walonia
Transylwania; Morawy; Dalmacja; Istria; Skandynawia; Tyrol; Saksonia; Nadrenia; Westfalia; Kornwalia; Laponia
Syberia; Tybet; Kaszmir; Kalifornia; Floryda; Teksas; Patagonia; Algarve; Krym; Zakarpacie; Nowa Anglia
Dolna Saksonia; Szkockie Highlandy; Kapadocja; Anatolia; Peloponez
""")

NATURAL_FEATURES: dict[str, list[str]] = {
    "en": _EN_FEATURES,
    "de": _DE_FEATURES,
    "fr": _FR_FEATURES,
    "es": _ES_FEATURES,
    "it": _IT_FEATURES,
    "pt": _PT_FEATURES,
    "nl": _NL_FEATURES,
    "pl": _PL_FEATURES,
}

REGIONS: dict[str, list[str]] = {
    "en": _EN_REGIONS,
    "de": _DE_REGIONS,
    "fr": _FR_REGIONS,
    "es": _ES_REGIONS,
    "it": _IT_REGIONS,
    "pt": _PT_REGIONS,
    "nl": _NL_REGIONS,
    "pl": _PL_REGIONS,
}
