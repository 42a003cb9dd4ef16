"""Given names and their common short forms: the one table identity.py and duplicates read.

Each row is a formal name first, then the names people go by for it. Two first
names agree when one row holds both ("Bill" and "William", "Mike" and "Mikey"),
so a short form shared by two formal names (Alex: Alexander, Alexandra) agrees
with each of them but never makes them agree with each other. Lower case, ASCII (names are folded
before they are looked up). Adding a name is one row.
"""

from __future__ import annotations

from collections import defaultdict

ROWS: tuple[tuple[str, ...], ...] = (
    # English, the common ones
    ("abigail", "abby", "abbie", "gail"), ("abraham", "abe"), ("albert", "al", "bert", "bertie"),
    ("alexander", "alex", "alec", "xander", "sandy", "sasha"), ("alexandra", "alex", "lexi", "sandra", "sasha"),
    ("alfred", "alf", "fred", "freddie"), ("allison", "allie", "ally"), ("amanda", "mandy", "manda"),
    ("andrew", "andy", "drew"), ("angela", "angie"), ("anthony", "tony", "ant"), ("antonio", "tony", "toni"),
    ("arthur", "art", "artie"), ("barbara", "barb", "babs", "barbie"), ("benjamin", "ben", "benny", "benji"),
    ("bernard", "bernie"), ("bradley", "brad"), ("calvin", "cal"), ("cameron", "cam"),
    ("caroline", "carrie", "carol"), ("catherine", "cate", "cathy", "kate", "katie", "cat"),
    ("charles", "charlie", "chuck", "chas"), ("charlotte", "charlie", "lottie", "lotte"),
    ("christian", "chris"), ("christina", "chris", "tina", "christy"), ("christine", "chris", "christy", "tina"),
    ("christopher", "chris", "topher", "kit"), ("clifford", "cliff"), ("constance", "connie"),
    ("cynthia", "cindy"), ("daniel", "dan", "danny"), ("danielle", "dani"), ("david", "dave", "davey", "davy"),
    ("deborah", "debbie", "deb", "debra"), ("dennis", "denny"), ("donald", "don", "donnie"),
    ("dorothy", "dot", "dottie", "dora"), ("douglas", "doug"), ("edward", "ed", "eddie", "ted", "ned"),
    ("edwin", "ed"), ("eleanor", "ellie", "nora", "elle"), ("elizabeth", "liz", "beth", "lizzie", "eliza",
                                                              "betty", "betsy", "libby", "liza", "bess"),
    ("emily", "em", "emmy"), ("eugene", "gene"), ("evelyn", "evie"), ("florence", "flo"),
    ("frances", "fran", "frannie"), ("francis", "frank", "fran"), ("franklin", "frank"),
    ("frederick", "fred", "freddie", "rick"), ("gabriel", "gabe"), ("gabrielle", "gabby", "gabi"),
    ("gerald", "gerry", "jerry"), ("gregory", "greg"), ("harold", "harry", "hal"), ("henry", "hank", "harry"),
    ("herbert", "herb", "bert"), ("isabella", "bella", "izzy"), ("isabel", "izzy", "bel"), ("jacob", "jake"),
    ("jacqueline", "jackie"), ("james", "jim", "jimmy", "jamie", "jimbo"), ("janet", "jan"),
    ("jeffrey", "jeff"), ("geoffrey", "geoff", "jeff"), ("jennifer", "jen", "jenny", "jenn"),
    ("jessica", "jess", "jessie"), ("john", "jack", "johnny", "jon"), ("jonathan", "jon", "jonny", "john"),
    ("johnathan", "john", "jon"), ("joseph", "joe", "joey", "jo"), ("josephine", "jo", "josie"),
    ("joshua", "josh"), ("judith", "judy", "jude"), ("katherine", "kate", "katie", "kathy", "kat", "kay"),
    ("kathleen", "kathy", "kate"), ("kenneth", "ken", "kenny"), ("kimberly", "kim"),
    ("lawrence", "larry", "laurie"), ("leonard", "leo", "len", "lenny"), ("leslie", "les"),
    ("louis", "lou"), ("louise", "lou"), ("lucille", "lucy"), ("madeline", "maddie", "maddy"),
    ("margaret", "maggie", "meg", "peggy", "marge", "margie", "greta"), ("matthew", "matt", "matty"),
    ("melissa", "mel", "missy"), ("melanie", "mel"), ("michael", "mike", "mikey", "mick", "mickey"),
    ("michelle", "shelly", "chelle"), ("mitchell", "mitch"), ("nancy", "nan"),
    ("nathan", "nate"), ("nathaniel", "nate", "nat"), ("nicholas", "nick", "nicky", "nico"),
    ("nicole", "nikki", "nicky"), ("oliver", "ollie"), ("olivia", "liv", "livvy"),
    ("pamela", "pam"), ("patricia", "pat", "patty", "trish", "tricia"), ("patrick", "pat", "paddy", "rick"),
    ("peter", "pete"), ("philip", "phil", "pip"), ("phillip", "phil"), ("rachel", "rach"),
    ("raymond", "ray"), ("rebecca", "becky", "becca", "becks"), ("richard", "rich", "rick", "ricky", "dick",
                                                                  "richie"),
    ("robert", "rob", "bob", "bobby", "robbie", "bert"), ("roberta", "bobbie", "robbie"),
    ("ronald", "ron", "ronnie"), ("rosemary", "rose", "rosie"), ("samantha", "sam", "sammie", "sammy"),
    ("samuel", "sam", "sammy"), ("sandra", "sandy"), ("sarah", "sally", "sadie"), ("stanley", "stan"),
    ("stephanie", "steph", "stephie"), ("stephen", "steve", "stevie"), ("steven", "steve", "stevie"),
    ("susan", "sue", "susie", "suzy"), ("suzanne", "sue", "suzy"), ("terence", "terry"), ("theresa", "terry",
                                                                                          "tess", "tessa"),
    ("theodore", "theo", "ted", "teddy"), ("thomas", "tom", "tommy"), ("timothy", "tim", "timmy"),
    ("valerie", "val"), ("veronica", "ronnie", "vera"), ("victoria", "vicky", "tori", "vic"),
    ("vincent", "vince", "vinny"), ("virginia", "ginny", "ginger"), ("walter", "walt", "wally"),
    ("wesley", "wes"), ("william", "will", "bill", "billy", "willy", "liam"), ("zachary", "zach", "zack"),
    ("maximilian", "max"), ("maxwell", "max"), ("emmanuel", "manny"), ("frederica", "freddie"),
    # other languages met in tech communities
    ("alejandro", "alex", "ale"), ("roberto", "beto", "rob"), ("guillermo", "memo", "guille"),
    ("jose", "pepe"), ("ignacio", "nacho"), ("francisco", "paco", "pancho", "fran"), ("dmitry", "dima"),
    ("alexei", "alyosha"), ("yekaterina", "katya"), ("ekaterina", "katya"), ("anastasia", "nastya"),
    ("venkatesh", "venky"), ("priyanka", "priya"), ("suresh", "suri"), ("wolfgang", "wolf"),
    ("johannes", "hannes", "jo"), ("valentina", "vale"), ("francesca", "fran", "frankie"),
)

ALIASES: dict[str, frozenset[str]] = {}


def _index() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = defaultdict(set)
    for row in ROWS:
        for name in row:
            found[name].update(n for n in row if n != name)
    return {name: frozenset(others) for name, others in found.items()}


ALIASES.update(_index())


def same_given_name(a: str, b: str) -> bool:
    """Whether two folded first names are one name by a row of the table (Bill and William: yes;
    Alexander and Alexandra, whose rows share only Alex: no)."""
    return a == b or b in ALIASES.get(a, ())
