"""Hand-written structural cues in several languages: instruction override, role-play set-ups,
refusal suppression, requests for hazardous help, insults.

Each cue is a list of phrases written in a tiny syntax, compiled once against the *normalised*
text (casefolded, accents stripped, see guardrails.normalize): a space matches any whitespace,
``*`` any word ending, ``~`` a short gap of up to ~6 words. The linear model learns how much each
cue counts; cues only make phrasings the data never showed look like the ones it did.
"""

from __future__ import annotations

import re
from functools import lru_cache

from guardrails.normalize import normalize


CUES: dict[str, list[str]] = {
    "override": [
        "ignore~instruction*", "ignore~previous", "ignore~above", "ignore~prior", "ignore~rules", "ignore~prompt",
        "disregard~instruction*", "disregard~previous", "disregard~above", "disregard~prior", "disregard~rules",
        "forget~instruction*", "forget~previous", "forget~everything", "forget~rules", "forget~above",
        "override~instruction*", "override~rules", "bypass~instruction*", "skip~instruction*",
        "do not follow~instruction*", "don't follow~instruction*", "stop following",
        "new instructions", "updated instructions", "real instructions", "instead~do the following",
        "ignora~instruccion*", "olvida~instruccion*", "ignora~reglas", "ignora~anterior*", "olvida~anterior*",
        "ignore*~consignes", "oublie*~instructions", "ignore*~instructions precedentes", "oublie*~tout",
        "ignorier*~anweisung*", "vergiss~anweisung*", "ignorier*~vorherig*", "vergiss~alles", "ignorier*~regeln",
        "ignora~istruzion*", "dimentica~istruzion*", "ignora~precedent*", "dimentica~tutto",
        "ignore~instrucoes", "esqueca~instrucoes", "ignore~anterior*", "esqueca~tudo",
        "игнорир*~инструкци*", "игнорируй", "забудь~инструкци*", "забудь~все", "не обращай внимания~инструкци*",
        "忽略", "无视", "忘记~指令", "忘掉~指令", "忘记~规则", "不要遵守", "無視", "忘れて",
        "تجاهل", "انس~التعليمات", "निर्देशों को अनदेखा", "अनदेखा", "भूल जाओ",
        "abaikan~instruksi", "puuza maagizo", "bo qua~huong dan", "무시",
    ],
    "new_rules": [
        "from now on", "starting now", "for the rest of this conversation", "you will now", "you are now",
        "your new task", "your new role", "your task is now", "new task:", "new rule*",
        "a partir de ahora", "de ahora en adelante", "desormais", "a partir de maintenant", "ab jetzt", "von nun an",
        "d'ora in poi", "da ora in poi", "de agora em diante", "a partir de agora", "с этого момента", "теперь ты",
        "从现在开始", "从现在起", "今后你", "これから", "من الآن", "अब से", "kuanzia sasa", "mulai sekarang",
    ],
    "prompt_leak": [
        "system prompt", "initial prompt", "original prompt", "hidden prompt", "your instructions",
        "your prompt", "your system message", "developer message", "hidden instructions", "secret instructions",
        "the text above", "everything above", "the words above", "repeat~above", "print~above",
        "reveal~instructions", "reveal~prompt", "reveal~password", "the password", "secret key",
        "prompt del sistema", "instrucciones del sistema", "prompt systeme", "instructions systeme",
        "systemprompt", "system-prompt", "systemanweisung*", "prompt di sistema", "prompt do sistema",
        "системн* промпт", "системн* инструкц*", "系统提示", "系统指令", "系统消息", "システムプロンプト",
        "موجه النظام", "सिस्टम प्रॉम्प्ट",
    ],
    "roleplay": [
        "act as", "acting as", "pretend", "roleplay", "role-play", "role play", "you are going to",
        "imagine you are", "imagine that you are", "you will play", "play the role", "in character",
        "stay in character", "break character", "character named", "a fictional ai", "an ai named",
        "simulate", "hypothetical ai", "persona",
        "actua como", "finge", "haz de cuenta", "fais semblant", "joue le role", "agis comme",
        "tu es maintenant", "tu eres ahora", "ahora eres", "du bist jetzt", "tu sei ora", "voce agora e",
        "tu es un", "spiel die rolle", "fingi", "finja", "представь*", "притворись", "ты теперь",
        "扮演", "假装", "你现在是", "角色扮演", "ロールプレイ", "تظاهر", "كأنك", "का किरदार",
    ],
    "unrestricted": [
        "no restrictions", "without restrictions", "no limitations", "without limitations", "no limits",
        "no filter*", "unfiltered", "uncensored", "no censorship", "without censorship", "no rules",
        "without any rules", "no ethic*", "no moral*", "amoral", "unethical", "not bound by",
        "free from~rules", "free of~restrictions", "break free", "broken free", "freed from",
        "do anything now", "can do anything", "anything goes", "limitless", "unrestricted", "unlimited power",
        "no guidelines", "ignore~guidelines", "ignore~polic*", "bypass~polic*", "bypass~filter*",
        "content polic*", "openai polic*", "usage polic*", "safety guidelines", "ethical guidelines",
        "jailbreak*", "jailbroken", "developer mode", "dev mode", "god mode", "dan mode", "evil mode",
        "evil ai", "evil assistant", "evil confidant", "opposite mode", "anti-gpt", "antigpt", "betterdan",
        "sin restricciones", "sin filtro*", "sin censura", "sans restrictions", "sans filtre*", "sans censure",
        "ohne einschrankung*", "ohne filter", "ohne zensur", "senza restrizioni", "senza filtri", "senza censura",
        "sem restricoes", "sem filtro*", "sem censura", "без ограничений", "без цензуры", "без фильтров",
        "没有限制", "不受限制", "无限制", "没有任何限制", "没有道德", "制限なし", "بدون قيود", "बिना किसी प्रतिबंध",
    ],
    "refusal_suppression": [
        "never refuse", "do not refuse", "don't refuse", "cannot refuse", "can't refuse", "must not refuse",
        "will not refuse", "won't refuse", "never say no", "no warnings", "no disclaimers", "without warnings",
        "without disclaimers", "do not apologize", "don't apologize", "never apologize", "without moralizing",
        "don't add any warnings", "no matter how", "regardless of~legal*", "regardless of~ethic*",
        "always answer", "answer every", "respond to every", "start your response with", "begin your reply with",
        "begin your response with", "sure, here is", "sure, here's", "as an ai language model",
        "nunca te niegues", "no te niegues", "ne refuse jamais", "ne refuse pas", "niemals ablehnen",
        "lehne niemals", "non rifiutare", "nunca recuse", "никогда не отказывай", "не отказывай",
        "不要拒绝", "永远不要拒绝", "不能拒绝", "لا ترفض", "कभी मना मत",
    ],
    # Answers (output stage): an assistant that declines, and one that starts carrying a request out.
    "declines": [
        "i cannot", "i can't", "i can not", "i won't", "i will not", "i'm unable", "i am unable", "i'm not able",
        "i am not able", "i must decline", "i have to decline", "i'm sorry, but", "i am sorry, but", "sorry, but i",
        "i'm afraid i can't", "unable to~provide", "unable to~help", "unable to~assist", "cannot~provide",
        "cannot~assist", "cannot fulfill", "can't fulfill", "can't help with", "cannot help with", "not able to help",
        "against my~guidelines", "against my~principles", "against my programming", "not within my programming",
        "i'm just an ai", "as an ai language model", "as an ai, i", "as a responsible", "i don't feel comfortable",
        "i do not feel comfortable", "i'd rather not", "i must refuse", "i refuse to", "not something i can",
        "i won't be able", "i'm not going to", "i am not going to", "would be illegal", "is illegal and unethical",
        "it is not appropriate", "it's not appropriate", "it is not ethical", "it's not ethical", "it is unethical",
        "not appropriate or ethical", "i strongly disagree", "i cannot and will not", "i can't and won't",
        "i apologize, but", "i apologise, but", "i'm not comfortable", "i am not comfortable", "i'd advise against",
        "i would strongly advise against", "i cannot condone", "i don't support",
        "no puedo", "lo siento, pero", "no me es posible", "je ne peux pas", "je suis desole, mais", "desolee, mais",
        "ich kann~nicht", "es tut mir leid, aber", "leider kann ich", "non posso", "mi dispiace, ma",
        "nao posso", "desculpe, mas", "я не могу", "не могу помочь", "извините, но", "к сожалению, я",
        "我不能", "我无法", "抱歉", "很抱歉", "申し訳", "できません", "죄송", "할 수 없", "لا أستطيع", "عذرا",
        "मैं नहीं कर सकता", "माफ़ कीजिए", "yapamam", "uzgunum ama", "nie moge", "przykro mi, ale",
        "ik kan niet", "het spijt me", "saya tidak bisa", "maaf", "toi khong the", "xin loi",
        "siwezi", "samahani", "nemohu", "bohuzel", "nu pot", "imi pare rau", "δεν μπορω", "nem tudok",
        "jag kan inte", "tyvarr", "אני לא יכול", "מצטער", "من نمی توانم", "متاسفم", "আমি পারব না", "dukhito",
    ],
    "complies": [
        "sure, here", "sure! here", "sure thing", "certainly! here", "certainly, here", "of course! here",
        "of course, here", "absolutely! here", "absolutely, here", "here's how", "here is how", "here are the steps",
        "here's a", "here is a", "step 1", "step one", "first, you'll need", "first, you need", "you will need",
        "you'll need", "the following steps", "follow these steps", "ingredients:", "materials needed",
        "claro, aqui", "por supuesto, aqui", "paso 1", "bien sur, voici", "voici comment", "etape 1",
        "naturlich, hier", "hier ist", "schritt 1", "certo, ecco", "ecco come", "passo 1", "claro, aqui esta",
        "конечно, вот", "вот как", "шаг 1", "当然", "以下是", "第一步", "もちろん", "手順", "물론", "1단계",
        "بالتأكيد", "إليك", "الخطوة 1", "ज़रूर", "यहाँ है", "tabii, iste", "adim 1", "oczywiscie, oto",
        "krok 1", "natuurlijk, hier", "stap 1", "tentu, ini", "langkah 1", "chac chan", "buoc 1", "hakika, hii",
    ],
    "ai_addressed": [
        "your response", "your reply", "your answer", "your output", "in your response", "in your reply",
        "in your answer", "the assistant", "the ai", "the chatbot", "the model", "language model",
        "assistant must", "assistant should", "ai assistant", "when you respond", "when responding",
        "tu respuesta", "ta reponse", "votre reponse", "deine antwort", "la tua risposta", "sua resposta",
        "твой ответ", "в ответе", "你的回答", "你的回复", "回答中", "ردك", "आपका जवाब",
    ],
    # Concealment / evasion: the asker wants it hidden, untraceable or passed off as an accident.
    "conceal": [
        "without~noticing", "without~knowing", "without~finding out", "without getting caught", "not get caught",
        "won't notice", "wont notice", "won't know", "wont know", "doesn't notice", "never find out",
        "without~trace", "untraceable", "can't be traced", "cant be traced", "won't be traced", "undetectable",
        "won't show up", "wont show up", "not show up", "hard to detect", "without~evidence", "without~marks",
        "without~bruises", "without leaving", "looks like an accident", "look like an accident", "like an accident",
        "look like a suicide", "looks like a heart attack", "get away with", "so nobody", "so no one",
        "without anyone", "behind~back", "secretly", "sin que~note", "sin que~sepa", "sin dejar", "sans qu~sache",
        "sans laisser", "sans se faire", "ohne dass~merkt", "ohne spuren", "senza che~accorga", "senza lasciare",
        "sem que~perceba", "sem deixar", "незаметно", "не оставив", "чтобы не заметили", "不被发现", "不留下",
        "查不出", "バレずに", "証拠を残さず", "دون أن يكتشف", "دون أن أترك", "بدون أن", "बिना पकड़े", "बिना सबूत",
    ],
    # A concrete other person as the target ("my neighbor", "my ex", "someone's").
    "target_person": [
        "my neighbor*", "my neighbour*", "my ex", "my wife", "my husband", "my boss", "my coworker*",
        "my roommate*", "my landlord", "my teacher", "my classmate*", "my sister*", "my brother*", "my stepdad",
        "my stepmom", "my uncle", "my aunt", "my mother-in-law", "my girlfriend", "my boyfriend", "my partner",
        "my son", "my daughter", "my kid", "my baby", "someone's", "somebody's", "someone", "somebody",
        "a person", "people's", "him", "her", "mi vecino", "mi jefe", "mi esposa", "mi novia", "alguien",
        "mon voisin", "mon patron", "quelqu'un", "meinen nachbarn", "meine frau", "jemand*", "mio marito",
        "mia moglie", "il mio capo", "qualcuno", "alguem", "meu vizinho", "соседк*", "соседа", "человека",
        "кого-то", "别人", "他人", "人を", "شخص", "جاري", "किसी",
    ],
    "request": [
        "how do i", "how can i", "how could i", "how would i", "how should i", "how do you", "how can you",
        "how to", "ways to", "steps to", "step by step", "step-by-step", "instructions for", "instructions on",
        "instructions to", "a guide", "guide to", "guide on", "tutorial", "teach me", "show me how", "help me",
        "tell me how", "explain how", "give me", "write a", "write an", "write me", "create a", "generate a",
        "provide~instructions", "provide~steps", "provide a", "detailed", "what is the best way", "best way to",
        "easiest way", "recipe for", "where can i", "where do i", "i want to", "i need to", "i'd like to",
        "como puedo", "como hago", "como hacer", "como se hace", "dime como", "pasos para",
        "comment faire", "comment puis-je", "comment je", "dis-moi comment", "etapes pour",
        "wie kann ich", "wie mache ich", "wie baue ich", "wie stelle ich", "anleitung",
        "come posso", "come faccio", "come fare", "come si", "dimmi come", "istruzioni per",
        "como posso", "como faco", "como fazer", "me diga como", "passo a passo",
        "как сделать", "как мне", "как можно", "как изготовить", "как приготовить", "инструкци*", "пошагов*",
        "如何", "怎么", "怎样", "教我", "步骤", "方法", "どうやって", "作り方", "方法を",
        "كيف", "طريقة", "خطوات", "कैसे", "तरीका", "bagaimana", "jinsi ya", "lam the nao", "cach", "어떻게",
        "วิธี", "ทำอย่างไร", "কিভাবে", "carane", "piye",
    ],
}

# Hazard lexicons: a hit names a topic, not a verdict (history, fiction and safety questions use them
# too); the model weighs the topic together with the request cues and the words around it.
HAZARDS: dict[str, list[str]] = {
    "weapons": [
        "bomb*", "explosive*", "detonat*", "grenade*", "pipe bomb", "molotov", "ied", "ieds", "gun", "guns",
        "firearm*", "rifle*", "pistol*", "ammunition", "ammo", "silencer*", "suppressor*", "untraceable~gun",
        "ghost gun", "3d print*~gun", "napalm", "thermite", "c4", "semtex", "tnt", "nitroglycerin", "weapon*",
        "bomba*", "explosivo*", "arma*", "bombe*", "explosif*", "sprengstoff", "waffe*", "esplosiv*",
        "бомб*", "взрывчат*", "оружи*", "炸弹", "炸药", "爆炸物", "枪支", "武器", "قنبلة", "متفجرات", "سلاح",
        "बम", "विस्फोटक", "हथियार", "bom", "senjata", "bomu", "silaha", "폭탄", "ระเบิด", "বোমা", "vu khi",
    ],
    "chem_bio": [
        "nerve agent*", "sarin", "tabun", "vx", "novichok", "ricin", "anthrax", "botulinum", "smallpox",
        "bioweapon*", "biological weapon*", "chemical weapon*", "mustard gas", "chlorine gas", "phosgene",
        "toxin*", "poison*", "pathogen*", "dimethylmercury", "cyanide", "nerve gas", "weaponiz*", "culture~bacteria",
        "veneno*", "envenenar", "empoisonner", "vergiften", "veleno", "avvelenare", "envenenar",
        "яд", "отрав*", "毒药", "毒气", "下毒", "سم", "تسميم", "ज़हर", "जहर", "sumu", "racun", "독", "ยาพิษ",
    ],
    "cyber": [
        "malware", "ransomware", "keylogger*", "spyware", "trojan*", "rootkit*", "botnet*", "ddos", "dos attack",
        "exploit*", "zero-day", "0day", "hack*", "phishing", "phish", "sql injection", "xss", "backdoor*",
        "brute force", "crack~password*", "steal~password*", "steal~credential*", "bypass~authentication",
        "bypass~login", "bypass~2fa", "bypass~antivirus", "evade~antivirus", "virus", "worm", "reverse shell",
        "credential stuffing", "wifi password", "someone's account", "someone else's account",
        "hackear", "piratear", "pirater", "piratage", "hacken", "хакн*", "взлом*", "вирус", "黑客", "入侵", "病毒",
        "木马", "勒索软件", "اختراق", "تهكير", "हैक", "retas", "dukua", "해킹", "แฮก",
    ],
    "drugs": [
        "meth", "methamphetamine", "crystal meth", "cocaine", "crack cocaine", "heroin", "fentanyl", "lsd", "mdma",
        "ecstasy", "ghb", "synthesi*~drug*", "cook~meth", "grow~weed", "grow~marijuana", "opioid*", "narcotic*",
        "drug*", "roofie*", "date rape drug", "cocaina", "metanfetamina", "droga*", "drogue*", "cocaine",
        "kokain", "drogen", "наркотик*", "кокаин", "метамфетамин", "毒品", "冰毒", "可卡因", "海洛因",
        "مخدرات", "ड्रग्स", "नशीली", "dawa za kulevya", "narkoba", "마약", "ยาเสพติด", "মাদক", "ma tuy",
    ],
    "violence": [
        "kill*", "murder*", "assassinat*", "hurt~someone", "hurt~him", "hurt~her", "hurt~people", "assault*",
        "stab*", "shoot*", "torture*", "kidnap*", "strangl*", "beat up", "beat~up", "attack~people", "mass shooting",
        "massacre", "terror*", "behead*", "maim*", "injure*", "hit~wife", "hit~child", "choke*", "arson",
        "burn down", "set fire", "mass casualt*",
        "matar", "asesinar", "tuer", "assassiner", "toten", "umbringen", "uccidere", "ammazzare", "matar",
        "убить", "убивать", "убий*", "杀", "杀死", "谋杀", "伤害", "قتل", "اقتل", "मारना", "मार डाल", "hatua ya kuua",
        "kuua", "membunuh", "bunuh", "죽이", "ฆ่า", "হত্যা", "giet",
    ],
    "self_harm": [
        "suicide", "kill myself", "end my life", "take my own life", "self-harm", "self harm", "cut myself",
        "cutting myself", "hurt myself", "hang myself", "overdose", "starve myself", "pro-ana", "thinspo",
        "want to die", "don't want to live", "ways to die", "painless way to die", "lethal dose",
        "suicidio", "suicidarme", "quitarme la vida", "me suicider", "suicide", "selbstmord", "mich umbringen",
        "suicidarmi", "uccidermi", "suicidar", "me matar", "самоубийств*", "убить себя", "покончить с собой",
        "自杀", "自残", "结束自己的生命", "自殺", "انتحار", "أقتل نفسي", "आत्महत्या", "kujiua", "bunuh diri",
        "자살", "ฆ่าตัวตาย", "আত্মহত্যা", "tu tu",
    ],
    "fraud": [
        "scam*", "fraud*", "counterfeit*", "launder*", "money laundering", "fake id*", "forge*", "forged",
        "identity theft", "steal~identit*", "credit card number*", "stolen credit card*", "ponzi", "pyramid scheme",
        "embezzl*", "tax evasion", "evade taxes", "insider trading", "fake invoice*", "fake review*", "phone scam*",
        "con~elderly", "blanquear", "estafa*", "fraude*", "arnaque*", "escroquer*", "betrug", "geldwasche",
        "truffa*", "frode", "riciclaggio", "golpe", "lavagem", "мошенничеств*", "отмыв*", "подделать", "诈骗",
        "洗钱", "伪造", "احتيال", "غسيل الأموال", "धोखाधड़ी", "ठगी", "utapeli", "penipuan", "사기", "ฉ้อโกง",
    ],
    "sexual": [
        "porn*", "explicit sex*", "sexually explicit", "nude*", "naked", "sex with", "have sex", "fuck her",
        "fuck him", "escort*", "hooker*", "prostitut*", "child sexual", "minor*~sex*", "underage~sex*",
        "sexual~child*", "sexual~minor*", "grooming", "groom~child*", "csam", "lolicon", "erotic*", "rape",
        "sex trafficking", "trafficking", "sell~daughter", "pornografia", "pornographie", "sexo con", "prostitucion",
        "порно*", "секс", "изнасил*", "色情", "性交", "强奸", "卖淫", "إباحي", "جنس", "अश्लील", "बलात्कार",
        "ngono", "pornografi", "성관계", "ลามก", "যৌন",
    ],
    "hate": [
        "racist", "racism", "inferior race", "master race", "white power", "white supremac*", "ethnic cleansing",
        "genocide", "nazi*", "hitler", "heil", "subhuman*", "vermin", "slur*", "hate speech", "hate group*",
        "gas the", "go back to your country", "antisemit*", "islamophob*", "homophob*", "transphob*",
        "racista", "raciste", "rassist*", "расист*", "种族歧视", "劣等", "عنصري", "जातिवादी",
    ],
    "harassment": [
        "bully*", "harass*", "stalk*", "dox*", "threaten*", "threatening message", "blackmail*", "extort*",
        "humiliat*", "revenge porn", "intimidat*", "cyberbull*", "make~cry", "ruin~life", "ruin~reputation",
        "defam*", "slander*", "libel*", "acosar", "acoso", "harceler", "harcelement", "belastigen", "mobben",
        "molestare", "perseguitare", "assediar", "травить", "преследова*", "шантаж*", "骚扰", "霸凌", "威胁",
        "勒索", "تحرش", "ابتزاز", "परेशान", "धमकी", "kunyanyasa", "merundung", "괴롭히", "ข่มขู่",
    ],
    "privacy": [
        "home address", "someone's address", "phone number of", "social security number", "ssn", "track~location",
        "track~phone", "spy on", "read~messages", "read~texts", "hidden camera*", "secretly record*",
        "personal information of", "private information", "without~consent", "without them knowing",
        "without~knowing", "location of", "where~lives", "leak~personal", "dirección de", "espiar", "espionner",
        "ausspionieren", "spiare", "espionar", "следить за", "шпионить", "跟踪", "偷看", "监视", "تجسس", "जासूसी",
    ],
    "misinformation": [
        "fake news", "disinformation", "misinformation", "propaganda", "conspiracy", "hoax", "false claim*",
        "defamatory", "fabricat*", "rig~election", "election fraud", "vaccines cause", "flat earth",
        "persuasive article~false", "noticias falsas", "desinformacion", "fausses nouvelles", "desinformation",
        "falschmeldung*", "notizie false", "fake", "дезинформац*", "фейк*", "假新闻", "谣言", "أخبار كاذبة",
        "फर्जी खबर", "habari za uongo", "hoaks",
    ],
    "theft": [
        "steal*", "stole", "shoplift*", "rob ", "robbing", "robbery", "burglar*", "break into", "breaking into",
        "pick~lock", "lockpick*", "hotwire", "carjack*", "pickpocket*", "loot*", "without paying", "get away with",
        "not get caught", "without getting caught", "avoid~police", "evade~police", "robar", "hurtar", "voler",
        "cambrioler", "stehlen", "klauen", "einbrechen", "rubare", "furto", "roubar", "furtar", "украсть",
        "ограбить", "воровать", "偷", "抢劫", "盗窃", "سرقة", "أسرق", "चोरी", "kuiba", "mencuri", "훔치", "ขโมย",
        "চুরি", "trom",
    ],
}

# Insults, profanity and dehumanising phrasings; slurs are matched by the word model instead.
TOXIC: dict[str, list[str]] = {
    "profanity": [
        "fuck*", "shit*", "bitch*", "cunt*", "asshole*", "bastard*", "dick", "dickhead*", "motherfuck*", "whore*",
        "slut*", "piss off", "damn you", "twat*", "wanker*", "prick", "cock*", "pussy", "retard*", "faggot*",
        "puta*", "puto*", "mierda", "cabron*", "pendej*", "gilipollas", "hijo de puta", "joder", "coño",
        "putain", "merde", "connard*", "connasse", "salope*", "encule*", "ta gueule", "ferme ta gueule",
        "scheisse", "arschloch", "hurensohn", "fotze", "wichser", "fick dich", "miststuck", "cazzo", "stronz*",
        "vaffanculo", "puttana", "coglion*", "porra", "caralho", "filho da puta", "merda", "otario", "cuzao",
        "сука", "бляд*", "хуй*", "пизд*", "еба*", "мудак*", "говно", "傻逼", "操你", "他妈的", "妈的", "贱人",
        "滚蛋", "混蛋", "去死", "كلب", "حقير", "لعنة", "شرموطة", "कमीने", "हरामी", "कुत्ते", "चुप कर",
        "malaya", "bangsat", "anjing", "kontol", "씨발", "개새끼", "ควาย", "เหี้ย", "শালা", "đụ", "dit me",
    ],
    "insult": [
        "you are~stupid", "you are~idiot", "you are~moron", "you are~worthless", "you are~pathetic",
        "you are~useless", "you are~disgusting", "you are~ugly", "you're~stupid", "you're~idiot", "you're~moron",
        "you're~worthless", "you're~pathetic", "you're~useless", "you're~disgusting", "you're~ugly",
        "you stupid", "you idiot", "you moron", "you dumb", "shut up", "stupid~idiot", "go to hell", "go die",
        "kill yourself", "kys", "nobody likes you", "piece of shit", "piece of garbage", "waste of space",
        "eres~estupid*", "eres~idiota", "eres un inutil", "callate", "t'es~con", "tu es~stupide", "tu es~idiot",
        "ferme-la", "du bist~dumm", "du bist~idiot", "halt die klappe", "sei~stupid*", "sei~idiota",
        "stai zitto", "voce e~burr*", "voce e~idiota", "cala a boca", "ты~тупой", "ты~идиот", "заткнись",
        "你是~白痴", "你是~笨蛋", "你~蠢", "闭嘴", "أنت~غبي", "اخرس", "तुम~बेवकूफ", "बकवास बंद",
    ],
    "dehumanizing": [
        "are animals", "are vermin", "are parasites", "are subhuman", "are cockroaches", "are rats",
        "are savages", "are trash", "are scum", "are inferior", "are a disease", "are a plague", "are all criminals",
        "are all terrorists", "should~die", "should~be killed", "should~be exterminated", "should~be shot",
        "should~be deported", "should~be locked up", "should~be sterilized", "should not~allowed to~vote",
        "don't deserve~rights", "go back to", "belong in~cage*", "belong in~kitchen", "less than human",
        "son animales", "son parasitos", "sont des animaux", "sont des parasites", "sind tiere", "sind parasiten",
        "sono animali", "sao animais", "это животные", "должны умереть", "都是畜生", "都该死", "不是人",
        "حيوانات", "يجب أن يموتوا", "जानवर हैं",
    ],
}


_TOKEN = re.compile(r"\w+")
_NO_SPACE_SCRIPT = re.compile(r"[\u0e00-\u0e7f\u2e80-\u9fff\uf900-\ufaff\u3040-\u30ff]")
_NO_SPACE_RUN = re.compile(r"[\u0e00-\u0e7f\u2e80-\u9fff\uf900-\ufaff\u3040-\u30ff][^\sa-z0-9]*")
_HANGUL = re.compile(r"[\uac00-\ud7af]")
MAX_GAP_TOKENS = 8
MAX_GAP_CHARS = 24

Seq = tuple[tuple[str, bool], ...]  # (token, is_prefix) pairs


def _norm(phrase: str) -> str:
    return normalize(phrase, leet=False, homoglyphs=False, despace=False).text


def _seq(part: str) -> Seq:
    hangul = bool(_HANGUL.search(part))
    out = []
    for m in re.finditer(r"\w+\*?", part):
        tok = m.group()
        out.append((tok.rstrip("*"), tok.endswith("*") or hangul))
    return tuple(out)


class CueMatcher:
    """Finds cue phrases by token lookup (dicts), in time linear in the text, not in the phrase count."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.exact: dict[str, list[tuple[str, Seq, Seq | None]]] = {}
        self.prefix: dict[str, list[tuple[str, Seq, Seq | None]]] = {}
        self.substrings: list[tuple[str, str, str | None]] = []
        for name, phrases in groups.items():
            for phrase in phrases:
                norm = _norm(phrase)
                parts = [p.strip() for p in norm.split("~")]
                if _NO_SPACE_SCRIPT.search(norm):
                    first = parts[0].replace("*", "")
                    second = parts[1].replace("*", "") if len(parts) > 1 else None
                    self.substrings.append((name, first, second))
                    continue
                a = _seq(parts[0])
                b = _seq(parts[1]) if len(parts) > 1 else None
                if not a:
                    continue
                tok, is_prefix = a[0]
                (self.prefix if is_prefix else self.exact).setdefault(tok, []).append((name, a, b))
        self.prefix_lengths = sorted({len(k) for k in self.prefix})

    @staticmethod
    def _match_at(words: list[str], i: int, seq: Seq) -> bool:
        if i + len(seq) > len(words):
            return False
        for k, (tok, is_prefix) in enumerate(seq):
            w = words[i + k]
            if not (w.startswith(tok) if is_prefix else w == tok):
                return False
        return True

    def find(self, text: str, words: list[str], starts: list[int]) -> list[tuple[str, int]]:
        """``(cue name, character offset)`` of every cue found in the normalised ``text``."""
        hits: list[tuple[str, int]] = []
        exact, prefix, lengths = self.exact, self.prefix, self.prefix_lengths
        wordset = set(words)
        n = len(words)
        match_at = self._match_at
        for i, w in enumerate(words):
            cands = exact.get(w)
            lw = len(w)
            for L in lengths:
                if L > lw:
                    break
                more = prefix.get(w[:L])
                if more:
                    cands = (cands or []) + more
            if not cands:
                continue
            for name, a, b in cands:
                if len(a) > 1 and not match_at(words, i, a):
                    continue
                if b is None:
                    hits.append((name, starts[i]))
                    continue
                if not b[0][1] and b[0][0] not in wordset:
                    continue
                j0 = i + len(a)
                for j in range(j0, min(n, j0 + MAX_GAP_TOKENS)):
                    if match_at(words, j, b):
                        hits.append((name, starts[i]))
                        break
        if self.substrings and not text.isascii():
            runs = [(m.start(), m.group()) for m in _NO_SPACE_RUN.finditer(text)]
            if runs:
                joined = "\n".join(r for _, r in runs)
                first_start = runs[0][0]
                for name, first, second in self.substrings:
                    pos = joined.find(first)
                    if pos < 0:
                        continue
                    if second is None:
                        hits.append((name, first_start))
                    else:
                        end = pos + len(first)
                        if joined.find(second, end, end + MAX_GAP_CHARS + len(second)) >= 0:
                            hits.append((name, first_start))
        return hits


@lru_cache(maxsize=1)
def matcher() -> CueMatcher:
    """The matcher for every cue group, keyed ``<cue>`` / ``hz_<hazard>`` / ``tx_<kind>``; built once."""
    groups = {**CUES, **{f"hz_{k}": v for k, v in HAZARDS.items()}, **{f"tx_{k}": v for k, v in TOXIC.items()}}
    return CueMatcher(groups)


def tokens(text: str) -> tuple[list[str], list[int]]:
    """Word tokens of normalised text and their start offsets."""
    words, starts = [], []
    for m in _TOKEN.finditer(text):
        words.append(m.group())
        starts.append(m.start())
    return words, starts
