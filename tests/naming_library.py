"""A second corpus for the file-name parser: paths shaped as a new user's library holds them.

guessit's corpus (``tests/naming_corpus.py``) is mostly scene releases. This one is built from the
naming guides of Plex, Kodi, Jellyfin and Emby (films in folders, ``{edition-...}``, ``{imdb-tt..}``
/ ``[tmdbid-..]`` tags, ``- pt1``/``-cd1`` stacks, multi-version files, extras folders and
suffixes, disc folders, ``Show (2010)/Season 01/Show - S01E01 - Title.mkv``, ``Season 00``/
``Specials``, ``S01E01-E02``, ``s01e01-02``, ``1x01``, seasons numbered by year, date-based shows,
absolute anime numbering) and the release names that the *arr tools and fansub groups write,
applied to real titles that are hard on a parser: accents, apostrophes, ampersands, dots, colons
dropped from file names, numbers and year-like numbers in titles (``2001 A Space Odyssey``,
``1917``, ``Blade Runner 2049``, ``2012``), words that are also tags or extra markers
(``Extended``, ``Sample People``, ``The Other``), lower-case, dotted and underscored spellings.

The answer to each path is known by construction (the title, year, season, episodes... that the
path was made from), so the corpus does not depend on any parser; guessit serves as a second
opinion in the test, on the paths where it reads the answer too.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

from appliance.scan.naming import LibraryKind, parse_name

Case = tuple[str, LibraryKind, dict[str, Any]]  # path, library kind, expected fields

#: (title as the file system spells it, the title it must read as, year). Colons and slashes
#: cannot be in a file name; people drop them, as Plex's guide does.
FILMS: tuple[tuple[str, int], ...] = (
    ("2001 A Space Odyssey", 1968),
    ("1917", 2019),
    ("Blade Runner 2049", 2017),
    ("Amélie", 2001),
    ("Léon The Professional", 1994),
    ("Schindler's List", 1993),
    ("Fast & Furious", 2009),
    ("Mr. & Mrs. Smith", 2005),
    ("Ocean's Eleven", 2001),
    ("Se7en", 1995),
    ("2012", 2009),
    ("1984", 1984),
    ("Apollo 13", 1995),
    ("Wall-E", 2008),
    ("Spider-Man No Way Home", 2021),
    ("The Lord of the Rings The Return of the King", 2003),
    ("Crouching Tiger, Hidden Dragon", 2000),
    ("Das Boot", 1981),
    ("La Haine", 1995),
    ("El laberinto del fauno", 2006),
    ("Sen to Chihiro no Kamikakushi", 2001),
    ("Die Hard", 1988),
    ("Alien", 1979),
    ("Heat", 1995),
    ("Up", 2009),
    ("It", 2017),
    ("Us", 2019),
    ("The Day After Tomorrow", 2004),
    ("10 Things I Hate About You", 1999),
    ("300", 2006),
    ("21 Jump Street", 2012),
    ("Fantastic Four", 2015),
    ("Star Wars Episode IV - A New Hope", 1977),
    ("Mission Impossible - Fallout", 2018),
    ("Café Society", 2016),
    ("Zoolander 2", 2016),
    ("Toy Story 3", 2010),
    ("The Girl with the Dragon Tattoo", 2011),
    ("Dune Part Two", 2024),
    ("Kill Bill Vol. 1", 2003),
    ("Back to the Future Part II", 1989),
    ("Sicario Day of the Soldado", 2018),
    ("Everything Everywhere All at Once", 2022),
    ("Mad Max Fury Road", 2015),
    ("Pokémon The First Movie", 1998),
    ("Children of Men", 2006),
    ("The Sixth Sense", 1999),
    ("Spirited Away", 2001),
    ("Her", 2013),
    ("Extended", 2019),
    ("The Man from U.N.C.L.E.", 2015),
    ("Sample People", 2000),
    ("Free Sample", 2019),
    ("The Other", 2010),
)
SHOWS: tuple[tuple[str, int], ...] = (
    ("Breaking Bad", 2008),
    ("The Office (US)", 2005),
    ("Grey's Anatomy", 2005),
    ("Marvel's Agents of S.H.I.E.L.D.", 2013),
    ("Brooklyn Nine-Nine", 2013),
    ("9-1-1", 2018),
    ("Doctor Who", 2005),
    ("Mr. Robot", 2015),
    ("Law & Order Special Victims Unit", 1999),
    ("La Casa de Papel", 2017),
    ("Élite", 2018),
    ("The 100", 2014),
    ("24", 2001),
    ("1883", 2021),
    ("Stranger Things", 2016),
    ("Game of Thrones", 2011),
    ("House of the Dragon", 2022),
    ("It's Always Sunny in Philadelphia", 2005),
    ("The Daily Show", 1996),
    ("Dark", 2017),
    ("Money Heist", 2017),
    ("Cowboy Bebop", 1998),
    ("Attack on Titan", 2013),
    ("Shōgun", 2024),
    ("Ted Lasso", 2020),
    ("Westworld", 2016),
    ("Fargo", 2014),
    ("Band of Brothers", 2001),
    ("The Expanse", 2015),
    ("Friends", 1994),
)
_SCENE = (
    "1080p.BluRay.x264-GRP",
    "2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-FLUX",
    "720p.bluray.x264-sinners",
    "EXTENDED.1080p.BluRay.x264-GRP",
)


#: Real names written out by hand, one by one, with their answers: popular films and shows whose
#: titles hold numbers, dots, dashes, accents, ampersands and parentheses, in the shapes people
#: and download tools leave them. Where a show's folder names it differently from its files
#: (``Star Trek The Next Generation/Star.Trek.TNG.S03E15``), the folder wins: it is the name the
#: user chose, as in Plex and Jellyfin.
HAND: tuple[Case, ...] = (
    (
        "Movies/Avengers Endgame (2019) [1080p] [YTS.MX]/"
        "Avengers.Endgame.2019.1080p.BluRay.x264-[YTS.MX].mp4",
        "movies",
        {"kind": "movie", "title": "Avengers Endgame", "year": 2019},
    ),
    (
        "Movies/Parasite.2019.KOREAN.1080p.BluRay.x264.DTS-FGT.mkv",
        "movies",
        {"kind": "movie", "title": "Parasite", "year": 2019},
    ),
    (
        "Movies/Amelie.2001.FRENCH.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Amelie", "year": 2001},
    ),
    (
        "Movies/Le Fabuleux Destin d'Amélie Poulain (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Le Fabuleux Destin d'Amélie Poulain", "year": 2001},
    ),
    (
        "Movies/The Lord of the Rings - The Fellowship of the Ring (2001) Extended.mkv",
        "movies",
        {
            "kind": "movie",
            "title": "The Lord of the Rings - The Fellowship of the Ring",
            "year": 2001,
            "edition": "Extended",
        },
    ),
    (
        "Movies/Harry Potter Collection/Harry Potter and the Philosopher's Stone (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Harry Potter and the Philosopher's Stone", "year": 2001},
    ),
    (
        "Movies/Star Wars/Star Wars (1977)/Star Wars (1977).mkv",
        "movies",
        {"kind": "movie", "title": "Star Wars", "year": 1977},
    ),
    ("Movies/1995 - Heat.mkv", "movies", {"kind": "movie", "title": "Heat", "year": 1995}),
    ("Movies/Heat - 1995.mkv", "movies", {"kind": "movie", "title": "Heat", "year": 1995}),
    ("Movies/[Rec] (2007).mkv", "movies", {"kind": "movie", "title": "[Rec]", "year": 2007}),
    (
        "Movies/(500) Days of Summer (2009).mkv",
        "movies",
        {"kind": "movie", "title": "(500) Days of Summer", "year": 2009},
    ),
    ("Movies/Æon Flux (2005).mkv", "movies", {"kind": "movie", "title": "Æon Flux", "year": 2005}),
    (
        "Movies/Movie Title (2019) - Part 1.mkv",
        "movies",
        {"kind": "movie", "title": "Movie Title", "year": 2019, "part": 1},
    ),
    (
        "Movies/Movie Title (2019)/Movie Title (2019) - Disc 2.mkv",
        "movies",
        {"kind": "movie", "title": "Movie Title", "year": 2019, "part": 2},
    ),
    (
        "Movies/Movie Title (2019)/trailer.mp4",
        "movies",
        {"kind": "extra", "title": "Movie Title", "year": 2019},
    ),
    (
        "TV/Show 2019/Season 1/Show 2019 - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "year": 2019, "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show - S01E01 - 1984.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show.S01E09.S01E10.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [9, 10]},
    ),
    (
        "TV/Show/Show.101.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "Anime/Title/[Group]_Title_-_05_[720p][ABCD1234].mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": None, "episodes": [5]},
    ),
    (
        "Anime/Title/[Group] Title - 05 END [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": None, "episodes": [5]},
    ),
    (
        "Anime/Title/Specials/[Group] Title - OVA 01 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": 0, "episodes": [1]},
    ),
    (
        "Movies/Rocky (1976) 1080p BrRip x264 - YIFY.mp4",
        "movies",
        {"kind": "movie", "title": "Rocky", "year": 1976},
    ),
    (
        "Movies/Inception 2010 1080p BluRay x264 DTS-WiKi.mkv",
        "movies",
        {"kind": "movie", "title": "Inception", "year": 2010},
    ),
    (
        "Movies/The.Dark.Knight.2008.IMAX.2160p.UHD.BluRay.x265.10bit.HDR.TrueHD.7.1.Atmos-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "The Dark Knight", "year": 2008, "edition": "IMAX"},
    ),
    (
        "Movies/Joker (2019) (2160p BluRay x265 HEVC 10bit HDR AAC 7.1 Tigole).mkv",
        "movies",
        {"kind": "movie", "title": "Joker", "year": 2019},
    ),
    (
        "Movies/Dune Part One (2021) [imdbid-tt1160419] - [Bluray-2160p][DV "
        "HDR10][TrueHD Atmos 7.1][h265]-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Dune Part One", "year": 2021},
    ),
    (
        "Movies/12 Angry Men (1957).mkv",
        "movies",
        {"kind": "movie", "title": "12 Angry Men", "year": 1957},
    ),
    ("Movies/9 (2009).mkv", "movies", {"kind": "movie", "title": "9", "year": 2009}),
    ("Movies/1408 (2007).mkv", "movies", {"kind": "movie", "title": "1408", "year": 2007}),
    ("Movies/2046 (2004).mkv", "movies", {"kind": "movie", "title": "2046", "year": 2004}),
    (
        "Movies/1922 (2017)/1922 (2017).mkv",
        "movies",
        {"kind": "movie", "title": "1922", "year": 2017},
    ),
    (
        "Movies/2046.2004.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "2046", "year": 2004},
    ),
    (
        "Movies/1922.2017.1080p.NF.WEB-DL.DDP5.1.x264-NTG.mkv",
        "movies",
        {"kind": "movie", "title": "1922", "year": 2017},
    ),
    (
        "Movies/Mr. Nobody (2009).mkv",
        "movies",
        {"kind": "movie", "title": "Mr. Nobody", "year": 2009},
    ),
    (
        "Movies/E.T. the Extra-Terrestrial (1982).mkv",
        "movies",
        {"kind": "movie", "title": "E.T. the Extra-Terrestrial", "year": 1982},
    ),
    (
        "Movies/L.A. Confidential (1997).mkv",
        "movies",
        {"kind": "movie", "title": "L.A. Confidential", "year": 1997},
    ),
    (
        "Movies/E.T.the.Extra-Terrestrial.1982.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "E.T. the Extra-Terrestrial", "year": 1982},
    ),
    (
        "Movies/L.A.Confidential.1997.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "L.A. Confidential", "year": 1997},
    ),
    ("Movies/X-Men (2000).mkv", "movies", {"kind": "movie", "title": "X-Men", "year": 2000}),
    (
        "Movies/X-Men.2000.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "X-Men", "year": 2000},
    ),
    (
        "Movies/Ant-Man.and.the.Wasp.2018.1080p.WEB-DL.H264.AC3-EVO.mkv",
        "movies",
        {"kind": "movie", "title": "Ant-Man and the Wasp", "year": 2018},
    ),
    (
        "Movies/Ocean's 8 (2018).mkv",
        "movies",
        {"kind": "movie", "title": "Ocean's 8", "year": 2018},
    ),
    (
        "Movies/The 39 Steps (1935).mkv",
        "movies",
        {"kind": "movie", "title": "The 39 Steps", "year": 1935},
    ),
    (
        "Movies/Fahrenheit 451 (1966).mkv",
        "movies",
        {"kind": "movie", "title": "Fahrenheit 451", "year": 1966},
    ),
    (
        "Movies/Fahrenheit.451.1966.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Fahrenheit 451", "year": 1966},
    ),
    (
        "Movies/Three Billboards Outside Ebbing, Missouri (2017).mkv",
        "movies",
        {"kind": "movie", "title": "Three Billboards Outside Ebbing, Missouri", "year": 2017},
    ),
    (
        "Movies/Star Trek II The Wrath of Khan (1982).mkv",
        "movies",
        {"kind": "movie", "title": "Star Trek II The Wrath of Khan", "year": 1982},
    ),
    ("Movies/Rocky IV (1985).mkv", "movies", {"kind": "movie", "title": "Rocky IV", "year": 1985}),
    (
        "Movies/Terminator 2 Judgment Day (1991).mkv",
        "movies",
        {"kind": "movie", "title": "Terminator 2 Judgment Day", "year": 1991},
    ),
    (
        "Movies/Terminator.2.Judgment.Day.1991.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Terminator 2 Judgment Day", "year": 1991},
    ),
    (
        "Movies/2 Fast 2 Furious (2003).mkv",
        "movies",
        {"kind": "movie", "title": "2 Fast 2 Furious", "year": 2003},
    ),
    (
        "Movies/District.9.2009.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "District 9", "year": 2009},
    ),
    ("Movies/8 Mile (2002).mkv", "movies", {"kind": "movie", "title": "8 Mile", "year": 2002}),
    (
        "Movies/10.Cloverfield.Lane.2016.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "10 Cloverfield Lane", "year": 2016},
    ),
    (
        "Movies/127.Hours.2010.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "127 Hours", "year": 2010},
    ),
    (
        "Movies/3.10.to.Yuma.2007.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "3 10 to Yuma", "year": 2007},
    ),
    (
        "Movies/3 10 to Yuma (2007).mkv",
        "movies",
        {"kind": "movie", "title": "3 10 to Yuma", "year": 2007},
    ),
    (
        "Movies/Friday.the.13th.1980.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Friday the 13th", "year": 1980},
    ),
    (
        "Movies/Halloween (2018).mkv",
        "movies",
        {"kind": "movie", "title": "Halloween", "year": 2018},
    ),
    (
        "Movies/Scary Movie 5 (2013).mkv",
        "movies",
        {"kind": "movie", "title": "Scary Movie 5", "year": 2013},
    ),
    (
        "Movies/Super 8 (2011)/Super.8.2011.720p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Super 8", "year": 2011},
    ),
    (
        "Movies/The Hateful Eight (2015) - 2160p HDR10.mkv",
        "movies",
        {"kind": "movie", "title": "The Hateful Eight", "year": 2015},
    ),
    (
        "Movies/Kill.Bill.Vol.1.2003.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Kill Bill Vol 1", "year": 2003},
    ),
    (
        "Movies/The.Godfather.Part.II.1974.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "The Godfather Part II", "year": 1974},
    ),
    (
        "Movies/Harry.Potter.and.the.Deathly.Hallows.Part.1.2010.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Harry Potter and the Deathly Hallows Part 1", "year": 2010},
    ),
    (
        "Movies/Avatar.The.Way.of.Water.2022.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-FLUX.mkv",
        "movies",
        {"kind": "movie", "title": "Avatar The Way of Water", "year": 2022},
    ),
    (
        "Movies/Oppenheimer (2023) [2160p] [4K] [WEB] [5.1] [YTS.MX]/"
        "Oppenheimer.2023.2160p.4K.WEB.x265.10bit.AAC5.1-[YTS.MX].mkv",
        "movies",
        {"kind": "movie", "title": "Oppenheimer", "year": 2023},
    ),
    (
        "Movies/The Batman (2022)/The.Batman.2022.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-FLUX.mkv",
        "movies",
        {"kind": "movie", "title": "The Batman", "year": 2022},
    ),
    (
        "Movies/Spider-Man Across the Spider-Verse (2023).mkv",
        "movies",
        {"kind": "movie", "title": "Spider-Man Across the Spider-Verse", "year": 2023},
    ),
    (
        "Movies/Spider-Man.Across.the.Spider-Verse.2023.1080p.WEB-DL.DDP5.1.H.264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Spider-Man Across the Spider-Verse", "year": 2023},
    ),
    ("Movies/Alien³ (1992).mkv", "movies", {"kind": "movie", "title": "Alien³", "year": 1992}),
    (
        "Movies/Léon (1994)/Léon.1994.Extended.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Léon", "year": 1994, "edition": "Extended"},
    ),
    (
        "Movies/Das Leben der Anderen (2006).mkv",
        "movies",
        {"kind": "movie", "title": "Das Leben der Anderen", "year": 2006},
    ),
    (
        "Movies/Crouching.Tiger.Hidden.Dragon.2000.CHINESE.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Crouching Tiger Hidden Dragon", "year": 2000},
    ),
    (
        "Movies/Fast & Furious 6 (2013).mkv",
        "movies",
        {"kind": "movie", "title": "Fast & Furious 6", "year": 2013},
    ),
    (
        "Movies/Tom & Jerry (2021).mkv",
        "movies",
        {"kind": "movie", "title": "Tom & Jerry", "year": 2021},
    ),
    (
        "Movies/the.grand.budapest.hotel.2014.720p.bluray.x264-sparks.mkv",
        "movies",
        {"kind": "movie", "title": "the grand budapest hotel", "year": 2014},
    ),
    (
        "Movies/the_grand_budapest_hotel_2014.mkv",
        "movies",
        {"kind": "movie", "title": "the grand budapest hotel", "year": 2014},
    ),
    (
        "Movies/Gladiator (2000)/Gladiator (2000) - Extended.mkv",
        "movies",
        {"kind": "movie", "title": "Gladiator", "year": 2000, "edition": "Extended"},
    ),
    (
        "Movies/Gladiator (2000)/Gladiator (2000) - Theatrical.mkv",
        "movies",
        {"kind": "movie", "title": "Gladiator", "year": 2000, "edition": "Theatrical"},
    ),
    (
        "Movies/Gladiator (2000)/Gladiator.2000.Remastered.Extended.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Gladiator", "year": 2000},
    ),
    (
        "Movies/Up (2009)/Up (2009) - 1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Up", "year": 2009},
    ),
    (
        "Movies/Up (2009)/Up (2009) - 4K.mkv",
        "movies",
        {"kind": "movie", "title": "Up", "year": 2009},
    ),
    ("Movies/WALL·E (2008).mkv", "movies", {"kind": "movie", "title": "WALL·E", "year": 2008}),
    (
        "TV/Doctor Who (2005)/Season 1/Doctor Who (2005) - S01E01 - Rose.mkv",
        "series",
        {"kind": "episode", "title": "Doctor Who", "season": 1, "episodes": [1]},
    ),
    (
        "TV/The Office (US)/Season 2/The Office (US) - S02E01 - The Dundies.mkv",
        "series",
        {"kind": "episode", "title": "The Office (US)", "season": 2, "episodes": [1]},
    ),
    (
        "TV/Grey's Anatomy/Season 10/Greys.Anatomy.S10E01.720p.HDTV.X264-DIMENSION.mkv",
        "series",
        {"kind": "episode", "title": "Grey's Anatomy", "season": 10, "episodes": [1]},
    ),
    (
        "TV/Marvel's Daredevil/Season 1/"
        "Marvels.Daredevil.S01E01.1080p.NF.WEBRip.DD5.1.x264-NTb.mkv",
        "series",
        {"kind": "episode", "title": "Marvel's Daredevil", "season": 1, "episodes": [1]},
    ),
    (
        "TV/One Piece/Season 1/One Piece - S01E1050.mkv",
        "series",
        {"kind": "episode", "title": "One Piece", "season": 1, "episodes": [1050]},
    ),
    (
        "TV/Show/Season 1/Show.S01E01.Pilot.1080p.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Show.S01E01.720p.HDTV.x264-KILLERS[eztv].mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show (2019)/Season 1/Show (2019) - S01E01-E03 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2, 3]},
    ),
    (
        "TV/Show/Season 1/Show - S01E01 - Title (1080p BluRay x265 Silence).mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show S01 E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show - 1x01 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show_1x01_Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show - 101 - Pilot.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/The Tonight Show Starring Jimmy Fallon/Season 2024/"
        "The Tonight Show Starring Jimmy Fallon - 2024-03-01 - Guest.mkv",
        "series",
        {
            "kind": "episode",
            "title": "The Tonight Show Starring Jimmy Fallon",
            "date": "2024-03-01",
        },
    ),
    (
        "TV/The Daily Show/The.Daily.Show.2024.03.01.Guest.Name.1080p.WEB.h264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "The Daily Show", "date": "2024-03-01"},
    ),
    (
        "TV/Jeopardy/Jeopardy 2024 03 01.mkv",
        "series",
        {"kind": "episode", "title": "Jeopardy", "date": "2024-03-01"},
    ),
    (
        "Anime/One Punch Man/[HorribleSubs] One Punch Man - 01 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "One Punch Man", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Jujutsu Kaisen/[Erai-raws] Jujutsu Kaisen 2nd Season - 01 "
        "[1080p][Multiple Subtitle][ABCDEF12].mkv",
        "series",
        {"kind": "episode", "title": "Jujutsu Kaisen", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Naruto Shippuden/[Anime Time] Naruto Shippuden - 001 [1080p][HEVC 10bit "
        "x265][AAC][Multi Sub].mkv",
        "series",
        {"kind": "episode", "title": "Naruto Shippuden", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Mob Psycho 100/Mob Psycho 100 - 01.mkv",
        "series",
        {"kind": "episode", "title": "Mob Psycho 100", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Mob Psycho 100/[Group] Mob Psycho 100 - 01 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Mob Psycho 100", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Mob Psycho 100/Season 1/Mob Psycho 100 - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Mob Psycho 100", "season": 1, "episodes": [1]},
    ),
    (
        "Anime/86/[Group] 86 - 01 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "86", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Steins;Gate/[Group] Steins;Gate - 01 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Steins;Gate", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Kaguya-sama/[Group] Kaguya-sama wa Kokurasetai - 12 [720p].mkv",
        "series",
        {"kind": "episode", "title": "Kaguya-sama", "season": None, "episodes": [12]},
    ),
    (
        "Anime/Title/[Group] Title S2 - 05 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": 2, "episodes": [5]},
    ),
    (
        "Anime/Title/Title Season 2 - 05.mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": 2, "episodes": [5]},
    ),
    (
        "Anime/Attack on Titan/Season 4/Attack on Titan - S04E28 - The Dawn of Humanity.mkv",
        "series",
        {"kind": "episode", "title": "Attack on Titan", "season": 4, "episodes": [28]},
    ),
    (
        "Anime/Bleach/Bleach - 366 [720p].mkv",
        "series",
        {"kind": "episode", "title": "Bleach", "season": None, "episodes": [366]},
    ),
    (
        "Anime/Cowboy Bebop/Cowboy Bebop - 01 - Asteroid Blues.mkv",
        "series",
        {"kind": "episode", "title": "Cowboy Bebop", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Cowboy Bebop/Cowboy Bebop 01.mkv",
        "series",
        {"kind": "episode", "title": "Cowboy Bebop", "season": None, "episodes": [1]},
    ),
    (
        "Anime/Cowboy Bebop/Cowboy.Bebop.E01.1080p.mkv",
        "series",
        {"kind": "episode", "title": "Cowboy Bebop", "season": None, "episodes": [1]},
    ),
    (
        "Anime/[Judas] Vinland Saga (Season 2) [1080p][HEVC x265 10bit][Multi-Subs]/"
        "[Judas] Vinland Saga - S02E01.mkv",
        "series",
        {"kind": "episode", "title": "Vinland Saga", "season": 2, "episodes": [1]},
    ),
    (
        "TV/24/Season 1/24 - S01E01 - 12 00 A.M.-1 00 A.M..mkv",
        "series",
        {"kind": "episode", "title": "24", "season": 1, "episodes": [1]},
    ),
    (
        "TV/24/Season 1/24.S01E01.720p.BluRay.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "24", "season": 1, "episodes": [1]},
    ),
    (
        "TV/1883/Season 1/1883.S01E01.1080p.WEB.h264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "1883", "season": 1, "episodes": [1]},
    ),
    (
        "TV/The 100/Season 1/The.100.S01E01.720p.HDTV.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "The 100", "season": 1, "episodes": [1]},
    ),
    (
        "TV/9-1-1/Season 1/9-1-1.S01E01.720p.HDTV.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "9-1-1", "season": 1, "episodes": [1]},
    ),
    (
        "TV/This Is Us/Season 1/This.Is.Us.S01E01.720p.HDTV.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "This Is Us", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Star Trek The Next Generation/Season 3/"
        "Star Trek The Next Generation - S03E15 - Yesterday's Enterprise.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Star Trek The Next Generation",
            "season": 3,
            "episodes": [15],
        },
    ),
    (
        "TV/Star Trek The Next Generation/Season 3/Star.Trek.TNG.S03E15.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Star Trek The Next Generation",
            "season": 3,
            "episodes": [15],
        },
    ),
    (
        "TV/The Simpsons/Season 35/The Simpsons - S35E01.mkv",
        "series",
        {"kind": "episode", "title": "The Simpsons", "season": 35, "episodes": [1]},
    ),
    (
        "TV/House M.D/Season 1/House.M.D.S01E01.720p.mkv",
        "series",
        {"kind": "episode", "title": "House M.D", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show - S01E01 - Title.en.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Sherlock (2010)/Specials/Sherlock - S00E01 - The Abominable Bride.mkv",
        "series",
        {"kind": "episode", "title": "Sherlock", "season": 0, "episodes": [1]},
    ),
    (
        "TV/Sherlock (2010)/Season 0/Sherlock S00E01.mkv",
        "series",
        {"kind": "episode", "title": "Sherlock", "season": 0, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show.S01E01.REPACK.1080p.WEB.h264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show.S01E01.PROPER.720p.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show - S01E01 - Part 1.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1], "part": 1},
    ),
    (
        "TV/Show/Season 1/show_s01e01.mkv",
        "series",
        {"kind": "episode", "title": "show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/SHOW.S01E01.mkv",
        "series",
        {"kind": "episode", "title": "SHOW", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 01 (2019)/Show - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1 (1080p)/Show - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/S1/Show - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Series 1/Show - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Episode 01 - Pilot.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Ep01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show 01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 1/Show.S01E01E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV/Show/Season 1/Show.S01E01-E02-E03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2, 3]},
    ),
    (
        "TV/Show/Season 1/Show - S01E01 & S01E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV/Show/Season 1/Show - 1x01-02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV/Show/Season 1/Show - 1x01x02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV/Planet Earth II/Planet.Earth.II.S01E01.Islands.2160p.UHD.BluRay.x265-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Planet Earth II", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Chernobyl/Chernobyl.S01E01.1.23.45.1080p.AMZN.WEB-DL.DDP5.1.H.264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Chernobyl", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Top Gear/Season 22/Top Gear - S22E01.mkv",
        "series",
        {"kind": "episode", "title": "Top Gear", "season": 22, "episodes": [1]},
    ),
    (
        "TV/Top Gear/Top.Gear.S22E01.720p.HDTV.x264-FoV.mkv",
        "series",
        {"kind": "episode", "title": "Top Gear", "season": 22, "episodes": [1]},
    ),
    (
        "TV/Dr. Who/Season 1/Dr. Who - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Dr. Who", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Mr. Robot/Season 1/Mr.Robot.S01E01.720p.mkv",
        "series",
        {"kind": "episode", "title": "Mr Robot", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Agents of S.H.I.E.L.D/Season 1/"
        "Marvels.Agents.of.S.H.I.E.L.D.S01E01.720p.HDTV.x264-KILLERS.mkv",
        "series",
        {"kind": "episode", "title": "Agents of S.H.I.E.L.D", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show/Season 2/Show - S02E05 - Title [1080p WEB-DL].mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
)


def _dotted(title: str) -> str:
    """A release name's spelling: ``&`` is ``and``, separators are dots, apostrophes go."""
    return (
        title.replace(" & ", ".and.")
        .replace(" - ", ".")
        .replace(", ", ".")
        .replace(" ", ".")
        .replace("'", "")
    )


def films() -> Iterator[Case]:
    for i, (t, y) in enumerate(FILMS):
        film = {"kind": "movie", "title": t, "year": y}
        dotted = {**film, "title": t.replace("&", "and")}
        d = _dotted(t)
        imdb, tmdb = f"tt{1000000 + i:07}", 100 + i
        yield from (
            (f"Movies/{t} ({y})/{t} ({y}).mkv", "movies", film),
            (f"Movies/{t} ({y}).mkv", "movies", film),
            (f"Movies/{t} [{y}].mkv", "movies", film),
            (f"Movies/{t} {y}.mkv", "movies", film),
            (f"Movies/{t.lower()} ({y}).mkv", "movies", film),
            (f"Movies/{t.replace(' ', '_')}_({y}).mkv", "movies", film),
            (f"Movies/{t}/{t}.mkv", "movies", {**film, "year": None}),
            (f"Movies/{t} ({y})/{t}.mkv", "movies", film),
            (f"Movies/{t} ({y})/movie.mkv", "movies", film),
            (f"Movies/{t} ({y}) {{imdb-{imdb}}}/{t} ({y}) {{imdb-{imdb}}}.mkv", "movies", film),
            (f"Movies/{t} ({y}) [imdbid-{imdb}]/{t} ({y}) [imdbid-{imdb}].mkv", "movies", film),
            (
                f"Movies/{t} ({y}) {{tmdb-{tmdb}}}/{t} ({y}) {{tmdb-{tmdb}}} "
                "{edition-Director's Cut}.mkv",
                "movies",
                {**film, "edition": "Director's Cut"},
            ),
            (
                f"Movies/{t} ({y}) {{edition-Extended}}.mkv",
                "movies",
                {**film, "edition": "Extended"},
            ),
            (f"Movies/{t} ({y}) - Extended Edition.mkv", "movies", {**film, "edition": "Extended"}),
            (f"Movies/{t} ({y}) - Unrated.mkv", "movies", {**film, "edition": "Unrated"}),
            (
                f"Movies/{t} ({y})/{t} ({y}) - Directors Cut.mkv",
                "movies",
                {**film, "edition": "Director"},
            ),
            # versions (Plex/Jellyfin multi-version files) and stacks (Kodi/Plex parts)
            (f"Movies/{t} ({y})/{t} ({y}) - 1080p.mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) - 2160p HDR.mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) - [1080p].mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) - 3D.mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) - 1080p - Theatrical.mkv", "movies", film),
            (f"Movies/{t} ({y}) [1080p].mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) - Bluray-1080p.mkv", "movies", film),
            (f"Movies/{t} ({y})/{t} ({y}) Bluray-1080p Proper.mkv", "movies", film),
            (
                f"Movies/{t} ({y}) - [Remux-2160p][DV HDR10][TrueHD Atmos 7.1][x265]-GRP.mkv",
                "movies",
                film,
            ),
            (
                f"Movies/{t} ({y}) [Bluray-1080p][x264][DTS 5.1]-GRP/{t} ({y}) "
                "[Bluray-1080p][x264][DTS 5.1]-GRP.mkv",
                "movies",
                film,
            ),
            (f"Movies/{t} ({y})/{t} ({y}) - pt1.mkv", "movies", {**film, "part": 1}),
            (f"Movies/{t} ({y})/{t} ({y}) - cd2.avi", "movies", {**film, "part": 2}),
            (f"Movies/{t} ({y})/{t} ({y})-cd1.avi", "movies", {**film, "part": 1}),
            (f"Movies/{t} ({y})/{t} ({y})-dvd2.avi", "movies", {**film, "part": 2}),
            (f"Movies/{t} ({y})/{t} ({y})-part2.mkv", "movies", {**film, "part": 2}),
            (f"Movies/{t} ({y})/{t} ({y}) - disc1.mkv", "movies", {**film, "part": 1}),
            (f"Movies/{t} ({y})/{t} ({y}).part1.mkv", "movies", {**film, "part": 1}),
            # disc folders, extras
            (f"Movies/{t} ({y})/VIDEO_TS/VTS_01_1.VOB", "movies", film),
            (f"Movies/{t} ({y})/BDMV/STREAM/00000.m2ts", "movies", film),
            (f"Movies/{t} ({y})/Extras/Making of.mkv", "movies", {**film, "kind": "extra"}),
            (
                f"Movies/{t} ({y})/Trailers/Official Trailer.mkv",
                "movies",
                {**film, "kind": "extra"},
            ),
            (
                f"Movies/{t} ({y})/Behind The Scenes/{t} - Interview.mkv",
                "movies",
                {**film, "kind": "extra"},
            ),
            (f"Movies/{t} ({y})/{t} ({y})-trailer.mkv", "movies", {**film, "kind": "extra"}),
            (f"Movies/{t} ({y})/{t} ({y})-deleted.mkv", "movies", {**film, "kind": "extra"}),
            # release names, as downloaded
            (f"Movies/{d}.{y}.{_SCENE[0]}.mkv", "movies", dotted),
            (
                f"Movies/{d}.{y}.{_SCENE[1]}/{d.lower()}.{y}.{_SCENE[1].lower()}.mkv",
                "movies",
                dotted,
            ),
            (f"Movies/{d.lower()}.{y}.{_SCENE[2]}.mkv", "movies", dotted),
            (f"Movies/{d}.{y}.{_SCENE[3]}.mkv", "movies", {**dotted, "edition": "Extended"}),
            (
                f"Movies/{d}.{y}.REMASTERED.720p.BluRay.x264-GRP.mkv",
                "movies",
                {**dotted, "edition": "Remastered"},
            ),
        )
        if "sample" not in t.lower():  # "free sample.mkv": a sample as much as a film
            yield f"Movies/{t.lower()}.mkv", "movies", {**film, "year": None}


def _episode(title: str, season: int | None, episodes: list[int], **more: Any) -> dict[str, Any]:
    return {"kind": "episode", "title": title, "season": season, "episodes": episodes, **more}


def episodes() -> Iterator[Case]:
    for i, (s, y) in enumerate(SHOWS):
        d = _dotted(s)
        dotted = s.replace("&", "and")
        tvdb = 7000 + i
        yield from (
            (f"TV/{s}/Season 2011/{s} - 2011x05 - Title.mkv", "series", _episode(s, 2011, [5])),
            (f"TV/{s} ({y})/Season 1/{s} S01E01E02.mkv", "series", _episode(s, 1, [1, 2])),
            (f"TV/{s} ({y})/Season 1/{s} 1x01-1x02.mkv", "series", _episode(s, 1, [1, 2])),
            (f"TV/{s} ({y})/Season 1/01 - Pilot.mkv", "series", _episode(s, 1, [1])),
            (f"TV/{s} ({y})/Season 1/E01 - Pilot.mkv", "series", _episode(s, 1, [1])),
            (f"TV/{s} ({y})/Season 1/1x01 - Pilot.mkv", "series", _episode(s, 1, [1])),
            (f"TV/{s} ({y})/Season 1/S01E01 - Pilot.mkv", "series", _episode(s, 1, [1])),
            (
                f"TV/{s} ({y})/Season 1/{s} ({y}) - s01e01 - Pilot.mkv",
                "series",
                _episode(s, 1, [1]),
            ),
            (f"TV/{s}/Season 1/{s} - S01E01 - Pilot - 1080p.mkv", "series", _episode(s, 1, [1])),
            (f"TV/{s}/Season 1/{s} - S01E01 - cd1.mkv", "series", _episode(s, 1, [1], part=1)),
            (f"TV/{s} ({y})/Season 00/{s} - S00E01 - Special.mkv", "series", _episode(s, 0, [1])),
            (f"TV/{s} ({y})/Specials/{s} - S00E02.mkv", "series", _episode(s, 0, [2])),
            (
                f"TV/{s} ({y})/Season 01/Extras/Bloopers.mkv",
                "series",
                {"kind": "extra", "title": s},
            ),
            (f"TV/{s} ({y})/{s} - S01E03.mkv", "series", _episode(s, 1, [3])),
            (
                f"TV/{s}/{s} - 2024-03-01 - Guest.mkv",
                "series",
                {"kind": "episode", "title": s, "date": "2024-03-01"},
            ),
            (
                f"TV/{s}/{d}.2024.03.01.1080p.WEB.h264-GRP.mkv",
                "series",
                {"kind": "episode", "title": dotted, "date": "2024-03-01"},
            ),
            # absolute numbering (anime, fansubs)
            (
                f"Anime/{s}/[SubsPlease] {s} - 07 (1080p) [ABCD1234].mkv",
                "series",
                _episode(s, None, [7]),
            ),
            (
                f"Anime/{s}/[Erai-raws] {s} - 1050 [1080p][Multiple Subtitle].mkv",
                "series",
                _episode(s, None, [1050]),
            ),
            (
                f"Anime/{s}/[Judas] {s} - 01v2 [1080p][HEVC x265 10bit].mkv",
                "series",
                _episode(s, None, [1]),
            ),
            (
                f"Anime/[Group] {s} (2019) [BD 1080p]/[Group] {s} - 12 [BD 1080p].mkv",
                "series",
                _episode(s, None, [12]),
            ),
            (f"Anime/{s}/{s} - 107.mkv", "series", _episode(s, None, [107])),
            (
                f"Anime/{s}/Season 1/{s} - 013 - Title.mkv",
                "series",
                {"kind": "episode", "title": s, "episodes": [13]},
            ),
        )
        for sea, ep in ((1, 1), (2, 10), (3, 5)):
            one, two = [ep], [ep, ep + 1]
            yield from (
                (
                    f"TV/{s} ({y})/Season {sea:02}/{s} - S{sea:02}E{ep:02} - Pilot.mkv",
                    "series",
                    _episode(s, sea, one),
                ),
                (
                    f"TV/{s}/Season {sea}/{s} - s{sea:02}e{ep:02}-e{ep + 1:02}.mkv",
                    "series",
                    _episode(s, sea, two),
                ),
                (
                    f"TV/{s}/Season {sea}/{s} S{sea:02}E{ep:02}-{ep + 1:02}.mkv",
                    "series",
                    _episode(s, sea, two),
                ),
                (
                    f"TV/{s}/Season {sea}/{s} - {sea}x{ep:02} - {sea}x{ep + 1:02} - Title.mkv",
                    "series",
                    _episode(s, sea, two),
                ),
                (f"TV/{s}/Season {sea}/{s} {sea}x{ep:02}.avi", "series", _episode(s, sea, one)),
                (
                    f"TV/{s}/Season {sea}/{s.replace(' ', '_')}_S{sea:02}E{ep:02}.mkv",
                    "series",
                    _episode(s, sea, one),
                ),
                (f"TV/{s}/S{sea:02}/{s} - S{sea:02}E{ep:02}.mkv", "series", _episode(s, sea, one)),
                (f"TV/{s}/Season {sea:02}/S{sea:02}E{ep:02}.mkv", "series", _episode(s, sea, one)),
                (f"TV/{s}/Season {sea:02}/Episode {ep}.mkv", "series", _episode(s, sea, one)),
                (
                    f"TV/{s}/Season {sea}/{s} - S{sea:02}E{ep:02} - pt2.mkv",
                    "series",
                    _episode(s, sea, one, part=2),
                ),
                (
                    f"TV/{s} ({y}) [tvdbid-{tvdb}]/Season {sea:02}/{s} ({y}) - S{sea:02}E{ep:02} - "
                    "Title [WEBDL-1080p].mkv",
                    "series",
                    _episode(s, sea, one),
                ),
                (
                    f"TV/{s} ({y}) {{tvdb-{tvdb}}}/Season {sea:02}/{s} ({y}) - S{sea:02}E{ep:02} - "
                    "Title [Bluray-1080p][EAC3 5.1][x264]-GRP.mkv",
                    "series",
                    _episode(s, sea, one),
                ),
                (
                    f"TV/{s}/Season {sea}/{d}.S{sea:02}E{ep:02}.1080p.WEB.h264-GRP.mkv",
                    "series",
                    _episode(dotted, sea, one),
                ),
                (
                    f"TV/{d}.S{sea:02}.1080p.BluRay.x264-GRP/{d}.S{sea:02}E{ep:02}.1080p.BluRay."
                    "x264-GRP.mkv",
                    "series",
                    _episode(dotted, sea, one),
                ),
                (
                    f"TV/{d.lower()}/{d.lower()}.s{sea:02}e{ep:02}.720p.hdtv.x264-lol.mkv",
                    "series",
                    _episode(dotted, sea, one),
                ),
            )


FIELDS = ("kind", "title", "year", "season", "episodes", "date", "part", "edition")


def norm(text: object) -> str:
    """Letters and digits, case-folded, ``&`` read as ``and``: punctuation differs between
    spellings of one title (the folder's ``Law & Order``, the release's ``Law.and.Order``)."""
    spelled = unicodedata.normalize("NFC", str(text)).casefold().replace("&", "and")
    return "".join(ch for ch in spelled if ch.isalnum())


def agrees(name: str, want: Any, got: Any) -> bool:
    """``got`` (our field, or guessit's in our terms) is the answer ``want``."""
    if name == "title":
        return norm(got) in (norm(want), norm(str(want).replace(" (US)", "")))
    if name == "edition":
        return got is not None and norm(want) in norm(got)
    return bool(got == want)


def ours(path: str, kind: LibraryKind | None) -> dict[str, Any]:
    """Our reading of ``path`` (``kind`` None: guessed, as ``parse-name`` does without it)."""
    p = parse_name(path, kind)
    return {
        "kind": p.kind,
        "title": p.title,
        "year": p.year,
        "season": p.season,
        "episodes": p.episodes,
        "date": p.air_date,
        "part": p.part,
        "edition": p.edition,
    }


def theirs(guess: dict[str, Any]) -> dict[str, Any]:
    """guessit's answer in our terms (it has no extras: those are compared on title only)."""
    episode = guess.get("episode")
    date = guess.get("date")
    edition = guess.get("edition")
    return {
        "kind": guess.get("type"),
        "title": guess.get("title"),
        "year": guess.get("year"),
        "season": guess.get("season"),
        "episodes": sorted(episode)
        if isinstance(episode, list)
        else None
        if episode is None
        else [episode],
        "date": date.isoformat() if date is not None else None,
        "part": guess.get("cd", guess.get("part")),
        "edition": " ".join(edition) if isinstance(edition, list) else edition,
    }


def cases() -> list[Case]:
    """Every path of the corpus with its answer (several thousand; parsing them takes ~0.2 s)."""
    return [*films(), *episodes(), *HAND]
