"""The file-name parser against names people really use, and ``ferrex-appliance parse-name``.

Each row is a path as a user would paste it from a library, the library kind (None: guessed) and
every non-null field expected; fields left out must be None, so a stray value fails the row too.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import Any

import pytest

from appliance.scan.naming import (
    ParsedName,
    extra_dir_kind,
    guess_library_kind,
    is_ignored_dir,
    is_ignored_dir_name,
    parse_name,
    season_of_dir,
)
from tests.helpers import APPLIANCE, REPO

KEYS = [
    "path",
    "kind",
    "title",
    "year",
    "season",
    "episodes",
    "air_date",
    "edition",
    "version",
    "part",
    "extra",
    "ids",
]

ROWS: list[tuple[str, str | None, dict[str, Any]]] = [
    # --- library kind: movies ---
    ("Avatar (2009).mkv", "movies", {"kind": "movie", "title": "Avatar", "year": 2009}),
    (
        "Avatar (2009)/Avatar (2009).mkv",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009},
    ),
    (
        "The Matrix (1999)/The Matrix (1999) - 1080p.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "1080p"},
    ),
    (
        "The Matrix (1999)/The Matrix (1999) - 2160p.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "2160p"},
    ),
    (
        "The Matrix (1999)/The Matrix (1999) - 4K HDR.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "4K HDR"},
    ),
    (
        "The Matrix (1999)/The Matrix (1999) [1080p].mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "1080p"},
    ),
    (
        "The Matrix (1999)/The Matrix (1999) - Remux.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "Remux"},
    ),
    (
        "The Matrix (1999)/The Matrix (1999)_1080p.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "version": "1080p"},
    ),
    (
        "Movie (2010)/Movie (2010)-cd1.avi",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 1},
    ),
    (
        "Movie (2010)/Movie (2010)-cd2.avi",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 2},
    ),
    (
        "Movie (2010)/Movie (2010) - part1.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 1},
    ),
    (
        "Movie (2010)/Movie (2010).part2.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 2},
    ),
    (
        "Movie (2010)/Movie (2010) - disc2.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 2},
    ),
    (
        "Movie (2010)/Movie (2010) - pt3.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 3},
    ),
    (
        "Movie (2010)/Movie (2010) - dvd1.vob",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 1},
    ),
    (
        "Movie (2010)/Movie (2010)-cdb.avi",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 2},
    ),
    (
        "Movie (2010)/Movie (2010) CD1.avi",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "part": 1},
    ),
    (
        "The.Matrix.1999.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999},
    ),
    (
        "Inception.2010.2160p.UHD.BluRay.x265.10bit.HDR.DTS-HD.MA.5.1-SWTYBLZ.mkv",
        "movies",
        {"kind": "movie", "title": "Inception", "year": 2010},
    ),
    (
        "Avatar.The.Way.of.Water.2022.2160p.WEB-DL.DDP5.1.Atmos.DV.HDR.H.265-FLUX.mkv",
        "movies",
        {"kind": "movie", "title": "Avatar The Way of Water", "year": 2022},
    ),
    (
        "Dune.Part.Two.2024.1080p.WEBRip.x264.AAC5.1-[YTS.MX].mp4",
        "movies",
        {"kind": "movie", "title": "Dune Part Two", "year": 2024},
    ),
    (
        "The_Big_Lebowski_1998_720p_BRRip.avi",
        "movies",
        {"kind": "movie", "title": "The Big Lebowski", "year": 1998},
    ),
    ("Heat 1995 1080p BluRay x264.mkv", "movies", {"kind": "movie", "title": "Heat", "year": 1995}),
    (
        "oppenheimer.2023.imax.2160p.web.h265-grp.mkv",
        "movies",
        {"kind": "movie", "title": "oppenheimer", "year": 2023, "edition": "IMAX"},
    ),
    (
        "Pulp.Fiction.1994.REMASTERED.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Pulp Fiction", "year": 1994, "edition": "Remastered"},
    ),
    (
        "Parasite.2019.KOREAN.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Parasite", "year": 2019},
    ),
    (
        "Alien.1979.Directors.Cut.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Alien", "year": 1979, "edition": "Director's Cut"},
    ),
    (
        "Aliens.1986.Special.Edition.720p.BluRay.mkv",
        "movies",
        {"kind": "movie", "title": "Aliens", "year": 1986, "edition": "Special Edition"},
    ),
    (
        "Kingdom.of.Heaven.2005.Directors.Cut.Roadshow.1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Kingdom of Heaven", "year": 2005, "edition": "Director's Cut"},
    ),
    (
        "The.Lord.of.the.Rings.The.Fellowship.of.the.Ring.2001.EXTENDED.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {
            "kind": "movie",
            "title": "The Lord of the Rings The Fellowship of the Ring",
            "year": 2001,
            "edition": "Extended",
        },
    ),
    (
        "American.Pie.1999.UNRATED.DVDRip.XviD-GRP.avi",
        "movies",
        {"kind": "movie", "title": "American Pie", "year": 1999, "edition": "Unrated"},
    ),
    (
        "Apocalypse.Now.1979.Redux.720p.mkv",
        "movies",
        {"kind": "movie", "title": "Apocalypse Now", "year": 1979, "edition": "Redux"},
    ),
    (
        "Movie.2010.THEATRICAL.1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Theatrical"},
    ),
    (
        "Movie.2010.UNCUT.1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Uncut"},
    ),
    (
        "Movie (2010) {edition-Director's Cut}.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Director's Cut"},
    ),
    (
        "Movie (2010) {edition-Extended Edition} [tmdbid-123].mkv",
        "movies",
        {
            "kind": "movie",
            "title": "Movie",
            "year": 2010,
            "edition": "Extended Edition",
            "ids": {"tmdb": 123},
        },
    ),
    (
        "Movie (2010)/Movie (2010) {edition-Theatrical}.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Theatrical"},
    ),
    (
        "Movie (2010) - Extended Edition.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Extended Edition"},
    ),
    (
        "Movie (2010) - Director's Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Director's Cut"},
    ),
    (
        "Movie (2010) - Directors Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Director's Cut"},
    ),
    (
        "Movie (2010) - Unrated.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Unrated"},
    ),
    (
        "Movie (2010) - Theatrical Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Theatrical Cut"},
    ),
    (
        "Movie (2010) - Final Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Final Cut"},
    ),
    (
        "Movie (2010) - 10th Anniversary Edition.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "10th Anniversary Edition"},
    ),
    (
        "Movie (2010) - Extended Edition - 1080p.mkv",
        "movies",
        {
            "kind": "movie",
            "title": "Movie",
            "year": 2010,
            "edition": "Extended Edition",
            "version": "1080p",
        },
    ),
    (
        "Movie (2010) [Unrated].mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Unrated"},
    ),
    (
        "Movie (2010) Theatrical.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "edition": "Theatrical"},
    ),
    (
        "Blade Runner - The Final Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner", "edition": "The Final Cut"},
    ),
    (
        "Blade Runner (1982)/Blade Runner (1982) - The Final Cut.mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner", "year": 1982, "edition": "The Final Cut"},
    ),
    (
        "The Matrix (1999) [tmdbid-603].mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"tmdb": 603}},
    ),
    (
        "The Matrix (1999) [tmdbid=603].mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"tmdb": 603}},
    ),
    (
        "The Matrix (1999) {tmdb-603}.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"tmdb": 603}},
    ),
    (
        "The Matrix (1999) [imdbid-tt0133093].mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"imdb": "tt0133093"}},
    ),
    (
        "The Matrix (1999) {imdb-tt0133093}.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"imdb": "tt0133093"}},
    ),
    (
        "The Matrix (1999) [imdbid-tt0133093] [tmdbid-603].mkv",
        "movies",
        {
            "kind": "movie",
            "title": "The Matrix",
            "year": 1999,
            "ids": {"imdb": "tt0133093", "tmdb": 603},
        },
    ),
    (
        "The Matrix (1999) [tmdbid-603]/The Matrix (1999).mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"tmdb": 603}},
    ),
    (
        "The Matrix (1999) [tmdbid-603]/The Matrix (1999) - 1080p.mkv",
        "movies",
        {
            "kind": "movie",
            "title": "The Matrix",
            "year": 1999,
            "version": "1080p",
            "ids": {"tmdb": 603},
        },
    ),
    (
        "The Matrix (1999) {imdb-tt0133093}/movie.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"imdb": "tt0133093"}},
    ),
    (
        "The.Matrix.1999.tt0133093.1080p.mkv",
        "movies",
        {"kind": "movie", "title": "The Matrix", "year": 1999, "ids": {"imdb": "tt0133093"}},
    ),
    (
        "2001 A Space Odyssey (1968).mkv",
        "movies",
        {"kind": "movie", "title": "2001 A Space Odyssey", "year": 1968},
    ),
    (
        "2001.A.Space.Odyssey.1968.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "2001 A Space Odyssey", "year": 1968},
    ),
    (
        "Blade Runner 2049 (2017).mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner 2049", "year": 2017},
    ),
    (
        "Blade.Runner.2049.2017.2160p.UHD.BluRay.x265-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner 2049", "year": 2017},
    ),
    (
        "Blade.Runner.2049.1080p.WEB-DL.mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner 2049"},
    ),
    ("1917 (2019).mkv", "movies", {"kind": "movie", "title": "1917", "year": 2019}),
    (
        "1917.2019.1080p.WEBRip.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "1917", "year": 2019},
    ),
    ("Se7en (1995).mkv", "movies", {"kind": "movie", "title": "Se7en", "year": 1995}),
    (
        "Se7en.1995.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Se7en", "year": 1995},
    ),
    ("2012 (2009).mkv", "movies", {"kind": "movie", "title": "2012", "year": 2009}),
    ("2012.2009.720p.BluRay.mkv", "movies", {"kind": "movie", "title": "2012", "year": 2009}),
    ("Apollo 13 (1995).mkv", "movies", {"kind": "movie", "title": "Apollo 13", "year": 1995}),
    (
        "Ocean's Eleven (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Ocean's Eleven", "year": 2001},
    ),
    (
        "Ocean's.Eleven.2001.1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Ocean's Eleven", "year": 2001},
    ),
    (
        "10 Cloverfield Lane (2016).mkv",
        "movies",
        {"kind": "movie", "title": "10 Cloverfield Lane", "year": 2016},
    ),
    (
        "21 Jump Street (2012).mkv",
        "movies",
        {"kind": "movie", "title": "21 Jump Street", "year": 2012},
    ),
    ("300 (2006).mkv", "movies", {"kind": "movie", "title": "300", "year": 2006}),
    (
        "Fahrenheit 451 (1966).mkv",
        "movies",
        {"kind": "movie", "title": "Fahrenheit 451", "year": 1966},
    ),
    (
        "The 13th Warrior (1999).mkv",
        "movies",
        {"kind": "movie", "title": "The 13th Warrior", "year": 1999},
    ),
    (
        "Nineteen Eighty-Four (1984).mkv",
        "movies",
        {"kind": "movie", "title": "Nineteen Eighty-Four", "year": 1984},
    ),
    ("1984 (1984).mkv", "movies", {"kind": "movie", "title": "1984", "year": 1984}),
    (
        "Star Wars Episode IV - A New Hope (1977).mkv",
        "movies",
        {"kind": "movie", "title": "Star Wars Episode IV - A New Hope", "year": 1977},
    ),
    (
        "Mission Impossible - Fallout (2018).mkv",
        "movies",
        {"kind": "movie", "title": "Mission Impossible - Fallout", "year": 2018},
    ),
    (
        "Kill Bill - Vol. 1 (2003).mkv",
        "movies",
        {"kind": "movie", "title": "Kill Bill - Vol. 1", "year": 2003},
    ),
    (
        "Harry Potter and the Deathly Hallows Part 1 (2010).mkv",
        "movies",
        {"kind": "movie", "title": "Harry Potter and the Deathly Hallows Part 1", "year": 2010},
    ),
    (
        "Harry.Potter.and.the.Deathly.Hallows.Part.1.2010.1080p.BluRay.mkv",
        "movies",
        {"kind": "movie", "title": "Harry Potter and the Deathly Hallows Part 1", "year": 2010},
    ),
    (
        "Spider-Man No Way Home (2021).mkv",
        "movies",
        {"kind": "movie", "title": "Spider-Man No Way Home", "year": 2021},
    ),
    (
        "Spider-Man.No.Way.Home.2021.1080p.WEB-DL.mkv",
        "movies",
        {"kind": "movie", "title": "Spider-Man No Way Home", "year": 2021},
    ),
    (
        "E.T.the.Extra-Terrestrial.1982.1080p.BluRay.mkv",
        "movies",
        {"kind": "movie", "title": "E.T. the Extra-Terrestrial", "year": 1982},
    ),
    (
        "The Office (US) (2005).mkv",
        "movies",
        {"kind": "movie", "title": "The Office (US)", "year": 2005},
    ),
    ("[REC] (2007).mkv", "movies", {"kind": "movie", "title": "[REC]", "year": 2007}),
    ("WALL·E (2008).mkv", "movies", {"kind": "movie", "title": "WALL·E", "year": 2008}),
    ("Amélie (2001).mkv", "movies", {"kind": "movie", "title": "Amélie", "year": 2001}),
    (
        "Le Fabuleux Destin d'Amélie Poulain (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Le Fabuleux Destin d'Amélie Poulain", "year": 2001},
    ),
    (
        "Crouching Tiger, Hidden Dragon (2000).mkv",
        "movies",
        {"kind": "movie", "title": "Crouching Tiger, Hidden Dragon", "year": 2000},
    ),
    ("Charlotte's Web.mkv", "movies", {"kind": "movie", "title": "Charlotte's Web"}),
    (
        "Charlotte's Web (2006).mkv",
        "movies",
        {"kind": "movie", "title": "Charlotte's Web", "year": 2006},
    ),
    (
        "The Final Cut (2004).mkv",
        "movies",
        {"kind": "movie", "title": "The Final Cut", "year": 2004},
    ),
    ("Uncut Gems (2019).mkv", "movies", {"kind": "movie", "title": "Uncut Gems", "year": 2019}),
    ("Movie [2010].mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie.mkv", "movies", {"kind": "movie", "title": "Movie"}),
    ("movie_name.mkv", "movies", {"kind": "movie", "title": "movie name"}),
    ("Movie (2010).mp4", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010).avi", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010).m2ts", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010).iso", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010).strm", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010).MKV", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    (
        "Movies/Action/Heat (1995)/Heat (1995).mkv",
        "movies",
        {"kind": "movie", "title": "Heat", "year": 1995},
    ),
    (
        "/srv/media/movies/Heat (1995)/Heat (1995).mkv",
        "movies",
        {"kind": "movie", "title": "Heat", "year": 1995},
    ),
    (
        "Star Wars Collection/Star Wars (1977).mkv",
        "movies",
        {"kind": "movie", "title": "Star Wars", "year": 1977},
    ),
    ("Movie (2010)/movie.mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010)/feature.mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie (2010)/a8f3e9c1.mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    (
        "Inception.2010.1080p.BluRay.x264-GRP/inception.2010.1080p.bluray.x264-grp.mkv",
        "movies",
        {"kind": "movie", "title": "Inception", "year": 2010},
    ),
    (
        "Inception (2010)/Inception.2010.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Inception", "year": 2010},
    ),
    (
        "Movie (2010)/Trailers/Official Trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/trailers/teaser.mp4",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/Featurettes/Making Of.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "featurette"},
    ),
    (
        "Movie (2010)/Behind The Scenes/On Set.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "behindthescenes"},
    ),
    (
        "Movie (2010)/Deleted Scenes/Alternate Ending.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "deletedscene"},
    ),
    (
        "Movie (2010)/Interviews/Director.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "interview"},
    ),
    (
        "Movie (2010)/Shorts/Short Film.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "short"},
    ),
    (
        "Movie (2010)/Scenes/Opening.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "scene"},
    ),
    (
        "Movie (2010)/Extras/Gag Reel.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "other"},
    ),
    (
        "Movie (2010)/Other/Thing.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "other"},
    ),
    (
        "Movie (2010)/Extras/Making Of/Part 1.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "other"},
    ),
    (
        "Movie (2010)/Movie (2010)-trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/Movie (2010).trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/Movie (2010)_trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    (
        "Movie (2010)/Movie (2010)-featurette.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "featurette"},
    ),
    (
        "Movie (2010)/Movie (2010)-behindthescenes.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "behindthescenes"},
    ),
    (
        "Movie (2010)/Movie (2010)-deleted.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "deletedscene"},
    ),
    (
        "Movie (2010)/Movie (2010)-deletedscene.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "deletedscene"},
    ),
    (
        "Movie (2010)/Movie (2010)-interview.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "interview"},
    ),
    (
        "Movie (2010)/Movie (2010)-short.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "short"},
    ),
    (
        "Movie (2010)/Movie (2010)-scene.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "scene"},
    ),
    (
        "Movie (2010)/Movie (2010)-clip.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "clip"},
    ),
    (
        "Movie (2010)/Movie (2010)-other.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "other"},
    ),
    (
        "Movie (2010)/Movie (2010)-extra.mkv",
        "movies",
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "other"},
    ),
    ("Movie (2010)/Movie (2010)-sample.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    (
        "Movie.2010.1080p.BluRay.x264-GRP/movie.2010.1080p.bluray.x264-grp-sample.mkv",
        "movies",
        {"kind": "ignored", "extra": "sample"},
    ),
    ("Movie (2010)/sample.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    ("Movie (2010)/Sample/movie-sample.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    ("Movie (2010)/Samples/clip.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    ("Movie (2010)/sample-movie.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    (".hidden/Movie (2010).mkv", "movies", {"kind": "ignored"}),
    ("Movie (2010)/.Movie (2010).mkv", "movies", {"kind": "ignored"}),
    ("Movie (2010)/._Movie (2010).mkv", "movies", {"kind": "ignored"}),
    ("Movie (2010)/@eaDir/Movie (2010).mkv", "movies", {"kind": "ignored"}),
    ("#recycle/Movie (2010).mkv", "movies", {"kind": "ignored"}),
    ("Movie (2010)/Movie (2010).nfo", "movies", {"kind": "ignored"}),
    ("Movie (2010)/Movie (2010).en.srt", "movies", {"kind": "ignored"}),
    ("Movie (2010)/poster.jpg", "movies", {"kind": "ignored"}),
    ("Movie (2010)/Movie (2010).mkv.part", "movies", {"kind": "ignored"}),
    ("Movie (2010)/VIDEO_TS.IFO", "movies", {"kind": "ignored"}),
    ("Movie (2010)", "movies", {"kind": "ignored"}),
    (".mkv", "movies", {"kind": "ignored"}),
    # --- library kind: series ---
    (
        "Show (2005)/Season 01/Show - S01E02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "year": 2005, "season": 1, "episodes": [2]},
    ),
    (
        "Show (2005)/Season 01/Show (2005) - S01E02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "year": 2005, "season": 1, "episodes": [2]},
    ),
    (
        "Show (2005)/Season 1/Show.S01E02.720p.HDTV.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Show", "year": 2005, "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - s01e02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - S1E2.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - S01 E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - S01.E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - S01E02-E03 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 01/Show - S01E02E03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 01/Show - S01E02-03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 01/Show - S01E01-E04.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2, 3, 4]},
    ),
    (
        "Show/Season 01/Show - S01E01E02E03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2, 3]},
    ),
    (
        "Show/Season 01/Show - S01E02 - S01E03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 01/Show - S01E01-S01E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1, 2]},
    ),
    (
        "Show/Season 01/Show 1x02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show - 1x02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 01/Show 1x02x03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 01/Show 1x02-1x03.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2, 3]},
    ),
    (
        "Show/Season 10/Show 10x103.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 10, "episodes": [103]},
    ),
    (
        "Show/Season 1/Show Season 1 Episode 2.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Season 00/Show - S00E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 0, "episodes": [1]},
    ),
    (
        "Show/Specials/Show - S00E03 - Special.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 0, "episodes": [3]},
    ),
    (
        "Show/Specials/Christmas Special.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 0},
    ),
    (
        "Show/Season 02/E02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/E02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/Episode 2.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/Episode 02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/Ep 2.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/02 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/02.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [2]},
    ),
    (
        "Show/Season 02/Show - 203.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [3]},
    ),
    (
        "Show/Season 02/Title Without Number.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2},
    ),
    (
        "Show/S02/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Series 2/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Staffel 2/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Saison 2/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Season 2 (2006)/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Season 1/Show - S02E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Show/Season 2024/Show - S2024E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2024, "episodes": [5]},
    ),
    (
        "Show/Show - S01E05.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [5]},
    ),
    (
        "Show - S01E05 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [5]},
    ),
    (
        "Breaking.Bad.S01E01.720p.BluRay.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Breaking Bad", "season": 1, "episodes": [1]},
    ),
    (
        "Breaking Bad/Breaking.Bad.S05E16.Felina.1080p.WEB-DL.mkv",
        "series",
        {"kind": "episode", "title": "Breaking Bad", "season": 5, "episodes": [16]},
    ),
    (
        "Doctor.Who.2005.S01E01.Rose.720p.mkv",
        "series",
        {"kind": "episode", "title": "Doctor Who", "year": 2005, "season": 1, "episodes": [1]},
    ),
    (
        "Doctor Who (2005)/Season 01/Doctor Who (2005) - S01E01 - Rose.mkv",
        "series",
        {"kind": "episode", "title": "Doctor Who", "year": 2005, "season": 1, "episodes": [1]},
    ),
    (
        "Doctor Who (2005) [tvdbid-78804]/Season 01/Doctor Who - S01E01 - Rose.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Doctor Who",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "ids": {"tvdb": 78804},
        },
    ),
    (
        "Show (2005) {tvdb-12345}/Season 01/Show - S01E01.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Show",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "ids": {"tvdb": 12345},
        },
    ),
    (
        "Show (2005) [tmdbid-1399]/Season 01/Show - S01E01.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Show",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "ids": {"tmdb": 1399},
        },
    ),
    (
        "The Office (US)/Season 1/The.Office.US.S01E01.720p.mkv",
        "series",
        {"kind": "episode", "title": "The Office (US)", "season": 1, "episodes": [1]},
    ),
    (
        "The Office (US)/The.Office.US.S02E01.mkv",
        "series",
        {"kind": "episode", "title": "The Office (US)", "season": 2, "episodes": [1]},
    ),
    (
        "Marvels.Agents.of.S.H.I.E.L.D.S01E01.720p.mkv",
        "series",
        {
            "kind": "episode",
            "title": "Marvels Agents of S.H.I.E.L.D.",
            "season": 1,
            "episodes": [1],
        },
    ),
    (
        "24/Season 1/24 - S01E01 - 12-00 AM - 1-00 AM.mkv",
        "series",
        {"kind": "episode", "title": "24", "season": 1, "episodes": [1]},
    ),
    (
        "The 100/Season 1/The 100 - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "The 100", "season": 1, "episodes": [1]},
    ),
    (
        "9-1-1/Season 1/9-1-1 - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "9-1-1", "season": 1, "episodes": [1]},
    ),
    (
        "Game of Thrones/Season 8/Game.of.Thrones.S08E06.1080p.WEB.H264-MEMENTO.mkv",
        "series",
        {"kind": "episode", "title": "Game of Thrones", "season": 8, "episodes": [6]},
    ),
    (
        "/srv/tv/Some.Show.S03E04.1080p.WEB-DL.mkv",
        "series",
        {"kind": "episode", "title": "Some Show", "season": 3, "episodes": [4]},
    ),
    (
        "/srv/tv/Some Show (2019)/Season 03/Some Show - S03E04.mkv",
        "series",
        {"kind": "episode", "title": "Some Show", "year": 2019, "season": 3, "episodes": [4]},
    ),
    (
        "Show/Show 2024-03-01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "air_date": "2024-03-01"},
    ),
    (
        "Show/Show - 2024-03-01 - Guest.mkv",
        "series",
        {"kind": "episode", "title": "Show", "air_date": "2024-03-01"},
    ),
    (
        "The Daily Show/The.Daily.Show.2024.03.01.1080p.WEB.h264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "The Daily Show", "air_date": "2024-03-01"},
    ),
    (
        "The Daily Show/Season 2024/The Daily Show - 2024-03-01.mkv",
        "series",
        {"kind": "episode", "title": "The Daily Show", "season": 2024, "air_date": "2024-03-01"},
    ),
    (
        "Show 2024-03-01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "air_date": "2024-03-01"},
    ),
    ("Show/Show 2024-02-30.mkv", "series", {"kind": "episode", "title": "Show"}),
    (
        "Naruto/Naruto - 102.mkv",
        "series",
        {"kind": "episode", "title": "Naruto", "episodes": [102]},
    ),
    (
        "Naruto/Naruto - 102 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Naruto", "episodes": [102]},
    ),
    (
        "Naruto/[SubsPlease] Naruto - 102 (1080p) [ABCD1234].mkv",
        "series",
        {"kind": "episode", "title": "Naruto", "episodes": [102]},
    ),
    (
        "One Piece/One Piece - 1100.mkv",
        "series",
        {"kind": "episode", "title": "One Piece", "episodes": [1100]},
    ),
    (
        "One Piece/One.Piece.1100.1080p.mkv",
        "series",
        {"kind": "episode", "title": "One Piece", "episodes": [1100]},
    ),
    (
        "Frieren/[SubsPlease] Sousou no Frieren - 12v2 (1080p) [A1B2C3D4].mkv",
        "series",
        {"kind": "episode", "title": "Frieren", "episodes": [12]},
    ),
    (
        "Show/Season 01/Trailers/Season Trailer.mkv",
        "series",
        {"kind": "extra", "title": "Show", "season": 1, "extra": "trailer"},
    ),
    (
        "Show (2005)/Extras/Blooper Reel.mkv",
        "series",
        {"kind": "extra", "title": "Show", "year": 2005, "extra": "other"},
    ),
    (
        "Show (2005)/Featurettes/Making Of.mkv",
        "series",
        {"kind": "extra", "title": "Show", "year": 2005, "extra": "featurette"},
    ),
    (
        "Show (2005)/Season 01/Behind The Scenes/Making Of.mkv",
        "series",
        {"kind": "extra", "title": "Show", "year": 2005, "season": 1, "extra": "behindthescenes"},
    ),
    (
        "Show/Season 01/Show - S01E02-deleted.mkv",
        "series",
        {"kind": "extra", "title": "Show", "season": 1, "episodes": [2], "extra": "deletedscene"},
    ),
    ("Show/Season 01/Show - S01E02-sample.mkv", "series", {"kind": "ignored", "extra": "sample"}),
    ("Show/Season 01/Sample/Show - S01E02.mkv", "series", {"kind": "ignored", "extra": "sample"}),
    ("Show/Season 01/.Show - S01E02.mkv", "series", {"kind": "ignored"}),
    ("Show/.actors/x.mkv", "series", {"kind": "ignored"}),
    ("Show/Season 01/Show - S01E02.nfo", "series", {"kind": "ignored"}),
    ("Show/Season 01/Show - S01E02.en.srt", "series", {"kind": "ignored"}),
    # --- library kind: None ---
    ("Movie (2010).mkv", None, {"kind": "movie", "title": "Movie", "year": 2010}),
    (
        "The.Matrix.1999.1080p.BluRay.x264-GRP.mkv",
        None,
        {"kind": "movie", "title": "The Matrix", "year": 1999},
    ),
    (
        "Show/Season 01/Show - S01E02.mkv",
        None,
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show.S01E02.720p.mkv",
        None,
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    ("Show 1x02.mkv", None, {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]}),
    (
        "Show/Season 01/02.mkv",
        None,
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [2]},
    ),
    (
        "Show/Show 2024-03-01.mkv",
        None,
        {"kind": "episode", "title": "Show", "air_date": "2024-03-01"},
    ),
    (
        "[SubsPlease] Frieren - 12 (1080p).mkv",
        None,
        {"kind": "episode", "title": "Frieren", "episodes": [12]},
    ),
    ("Naruto - 102.mkv", None, {"kind": "movie", "title": "Naruto - 102"}),
    # the folder is named as the title before the number: a show's folder of episodes
    ("Naruto/Naruto - 102.mkv", None, {"kind": "episode", "title": "Naruto", "episodes": [102]}),
    (
        "Movie (2010)/Trailers/Trailer.mkv",
        None,
        {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"},
    ),
    # --- library kind: series ---
    (
        "TV/Show Name - Season 2/Show Name - S02E01.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "season": 2, "episodes": [1]},
    ),
    (
        "TV/Show Name - Season 2/Extras/Blooper.mkv",
        "series",
        {"kind": "extra", "title": "Show Name", "season": 2, "extra": "other"},
    ),
    (
        "Show.S01.1080p.BluRay.x264-GRP/Show.S01E01.1080p.BluRay.x264-GRP.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "Show/[SubsPlease] Show S2 - 05 (1080p) [ABCD1234].mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [5]},
    ),
    (
        "Mob Psycho 100/Mob Psycho 100 - 05.mkv",
        "series",
        {"kind": "episode", "title": "Mob Psycho 100", "episodes": [5]},
    ),
    (
        "Mr. Robot/mr.robot.s01e01.720p.mkv",
        "series",
        {"kind": "episode", "title": "Mr. Robot", "season": 1, "episodes": [1]},
    ),
    # --- library kind: movies ---
    (
        "Movie.Name.German.DL.1080p.BluRay.x264-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Movie Name"},
    ),
    ("The.English.Patient.1080p.mkv", "movies", {"kind": "movie", "title": "The English Patient"}),
    (
        "Movie (2010) [tmdbid-603] - 1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "version": "1080p", "ids": {"tmdb": 603}},
    ),
    (
        "Movie (2010)/Movie (2010) - 1080p-cd2.mkv",
        "movies",
        {"kind": "movie", "title": "Movie", "year": 2010, "version": "1080p", "part": 2},
    ),
    ("Movie (2010) (1080p).mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Movie [1080p] (2010).mkv", "movies", {"kind": "movie", "title": "Movie", "year": 2010}),
    ("Mr. Robot (2015).mkv", "movies", {"kind": "movie", "title": "Mr. Robot", "year": 2015}),
    # --- issue 21: parts without a separator or after quality tags ---
    (
        "The Hobbit (2012)/The Hobbit (2012) part1.mkv",
        "movies",
        {"kind": "movie", "title": "The Hobbit", "year": 2012, "part": 1},
    ),
    ("Some Film part1.mkv", "movies", {"kind": "movie", "title": "Some Film", "part": 1}),
    (
        "Heat (1995) - 2160p HDR cd2.mkv",
        "movies",
        {"kind": "movie", "title": "Heat", "year": 1995, "version": "2160p HDR", "part": 2},
    ),
    (
        "Heat.1995.1080p.BluRay.x264.CD1of2.avi",
        "movies",
        {"kind": "movie", "title": "Heat", "year": 1995, "part": 1},
    ),
    ("Kill Bill Part 2.mkv", "movies", {"kind": "movie", "title": "Kill Bill Part 2"}),
    (
        "Fargo/Season 1/Fargo - S01E02 - 720p cd2.mkv",
        "series",
        {"kind": "episode", "title": "Fargo", "season": 1, "episodes": [2], "part": 2},
    ),
    (
        "Fargo/Season 1/S01E04 - Part 2.mkv",
        "series",
        {"kind": "episode", "title": "Fargo", "season": 1, "episodes": [4], "part": 2},
    ),
    (
        "Fargo/Season 1/Fargo.S01E02.1080p.part2.mkv",
        "series",
        {"kind": "episode", "title": "Fargo", "season": 1, "episodes": [2], "part": 2},
    ),
    # --- numbered extras, "Sample" as a title word, quality words in scene titles ---
    (
        "Heat (1995)/Heat-trailer2.mkv",
        "movies",
        {"kind": "extra", "title": "Heat", "year": 1995, "extra": "trailer"},
    ),
    (
        "Heat (1995)/Heat.trailer.2.mkv",
        "movies",
        {"kind": "extra", "title": "Heat", "year": 1995, "extra": "trailer"},
    ),
    ("Free Sample (2019).mkv", "movies", {"kind": "movie", "title": "Free Sample", "year": 2019}),
    (
        "Sample People (2000).mkv",
        "movies",
        {"kind": "movie", "title": "Sample People", "year": 2000},
    ),
    ("The Sample.mkv", "movies", {"kind": "movie", "title": "The Sample"}),
    (
        "heat.1995.1080p.bluray.x264-grp.sample.mkv",
        "movies",
        {"kind": "ignored", "extra": "sample"},
    ),
    ("SAMPLE.heat.1995.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    (
        "sample people (2000).mkv",
        "movies",
        {"kind": "movie", "title": "sample people", "year": 2000},
    ),
    (
        "Sample_People_(2000).mkv",
        "movies",
        {"kind": "movie", "title": "Sample People", "year": 2000},
    ),
    (
        "Movies/sample.people.2000.720p.bluray.x264-grp.mkv",
        "movies",
        {"kind": "movie", "title": "sample people", "year": 2000},
    ),
    ("Movie (2010)/sample-movie.2010.mkv", "movies", {"kind": "ignored", "extra": "sample"}),
    (
        "Anime/Title/Title Season 2 - 05.mkv",
        "series",
        {"kind": "episode", "title": "Title", "season": 2, "episodes": [5]},
    ),
    (
        "TV/Show.Name.S01.1080p.WEB-DL.x264-GRP/E01.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "season": 1, "episodes": [1]},
    ),
    (
        "TV/Show Name S02 (1080p)/Episode 3.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "season": 2, "episodes": [3]},
    ),
    (
        "La Defense Lincoln (The Lincoln Lawyer) (2011).mkv",
        "movies",
        {"kind": "movie", "title": "La Defense Lincoln", "year": 2011},
    ),
    (
        "Amélie (Le Fabuleux Destin d'Amélie Poulain) (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Amélie", "year": 2001},
    ),
    ("Movies/1995 - Heat.mkv", "movies", {"kind": "movie", "title": "Heat", "year": 1995}),
    # --- disc folders: the film is the folder above VIDEO_TS/BDMV ---
    (
        "Movies/1917 (2019)/VIDEO_TS/VTS_01_1.VOB",
        "movies",
        {"kind": "movie", "title": "1917", "year": 2019},
    ),
    (
        "Movies/Blade Runner 2049 (2017)/BDMV/STREAM/00000.m2ts",
        "movies",
        {"kind": "movie", "title": "Blade Runner 2049", "year": 2017},
    ),
    # --- two-word editions leave a typed title too ---
    (
        "Brazil Criterion Edition (1985).avi",
        "movies",
        {"kind": "movie", "title": "Brazil", "year": 1985, "edition": "Criterion Edition"},
    ),
    (
        "Movies/Brazil (1985)/Brazil_Criterion_Edition_(1985).CD2.avi",
        "movies",
        {
            "kind": "movie",
            "title": "Brazil",
            "year": 1985,
            "edition": "Criterion Edition",
            "part": 2,
        },
    ),
    (
        "Aliens Special Edition (1986).mkv",
        "movies",
        {"kind": "movie", "title": "Aliens", "year": 1986, "edition": "Special Edition"},
    ),
    (
        "Apocalypse Now Redux (2001).mkv",
        "movies",
        {"kind": "movie", "title": "Apocalypse Now Redux", "year": 2001},
    ),
    (
        "Show/Season 1/Show - S01E01 - Sample Size.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 1, "episodes": [1]},
    ),
    (
        "Blade.Runner.UltraHD.HDR.DV.HEVC.x265-GRP.mkv",
        "movies",
        {"kind": "movie", "title": "Blade Runner"},
    ),
    ("Some Movie UltraHD HDR.mkv", "movies", {"kind": "movie", "title": "Some Movie"}),
    (
        "The.Kings.Speech.2010.1080p.BluRay.DTS.x264.D Z0N3.mkv",
        "movies",
        {"kind": "movie", "title": "The Kings Speech", "year": 2010},
    ),
    (
        "www.Site.party - The Wheel of Time (2021) 720p x264.mkv",
        "movies",
        {"kind": "movie", "title": "The Wheel of Time", "year": 2021},
    ),
    # --- seasons numbered by year; SxxE/x forms; episode lists; "3-07" ---
    (
        "Top Gear/Season 2011/Top Gear - 2011x05 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Top Gear", "season": 2011, "episodes": [5]},
    ),
    (
        "Top Gear/Season 2011/2011x05 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Top Gear", "season": 2011, "episodes": [5]},
    ),
    (
        "Top Gear/Top Gear S2011E05.mkv",
        "series",
        {"kind": "episode", "title": "Top Gear", "season": 2011, "episodes": [5]},
    ),
    (
        "The Office/Season 6/The Office - S06xE01.avi",
        "series",
        {"kind": "episode", "title": "The Office", "season": 6, "episodes": [1]},
    ),
    (
        "The Office/Season 6/The Office S06x01.avi",
        "series",
        {"kind": "episode", "title": "The Office", "season": 6, "episodes": [1]},
    ),
    (
        "Elementary/Season 2/Elementary - 02x03-04-15 - Ep Name.mp4",
        "series",
        {"kind": "episode", "title": "Elementary", "season": 2, "episodes": [3, 4, 15]},
    ),
    (
        "Elementary/Season 2/02x03x04x15 - Ep Name.mp4",
        "series",
        {"kind": "episode", "title": "Elementary", "season": 2, "episodes": [3, 4, 15]},
    ),
    (
        "Elementary/Season 2/02x03 - x04 - x15 - Ep Name.mp4",
        "series",
        {"kind": "episode", "title": "Elementary", "season": 2, "episodes": [3, 4, 15]},
    ),
    (
        "Elementary/Season 2/02x03 - 02x04 - 02x15 - Ep Name.mp4",
        "series",
        {"kind": "episode", "title": "Elementary", "season": 2, "episodes": [3, 4, 15]},
    ),
    (
        "Elementary/Season 1/Elementary - S01E23-E24-E26 - The Woman.mp4",
        "series",
        {"kind": "episode", "title": "Elementary", "season": 1, "episodes": [23, 24, 26]},
    ),
    (
        "Lost/Season 2/2-05 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Lost", "season": 2, "episodes": [5]},
    ),
    (
        "Lost/2-05 - Title.mkv",
        "series",
        {"kind": "episode", "title": "Lost", "season": 2, "episodes": [5]},
    ),
    ("Show/Show.S02.1080p.mkv", "series", {"kind": "episode", "title": "Show", "season": 2}),
    (
        "new.girl.117.hdtv-lol.mp4",
        "series",
        {"kind": "episode", "title": "new girl", "season": 1, "episodes": [17]},
    ),
    # --- anime and fansub releases ---
    (
        "[Group] Mushishi - 07 [1080p].mkv",
        "series",
        {"kind": "episode", "title": "Mushishi", "episodes": [7]},
    ),
    (
        "[Group][Kimetsu no Yaiba][11][BDRIP][1920x1080][HEVC].mp4",
        "series",
        {"kind": "episode", "title": "Kimetsu no Yaiba", "episodes": [11]},
    ),
    (
        "[Group] Mushishi [03][Ma10p_1080p][x265_flac].mkv",
        "series",
        {"kind": "episode", "title": "Mushishi", "episodes": [3]},
    ),
    (
        "[NoobSubs] Sword Art Online II 06 (720p 8bit AAC).mp4",
        "series",
        {"kind": "episode", "title": "Sword Art Online II", "episodes": [6]},
    ),
    (
        "[DeadFish] 01 - Tari Tari [BD][720p][AAC].mp4",
        "series",
        {"kind": "episode", "title": "Tari Tari", "episodes": [1]},
    ),
    (
        "[Stratos-Subs]_Infinite_Stratos_-_12_(1280x720_H.264_AAC)_[379759DB].mkv",
        "series",
        {"kind": "episode", "title": "Infinite Stratos", "episodes": [12]},
    ),
    (
        "Naruto Shippuden/Naruto Shippuden Episode 366.avi",
        "series",
        {"kind": "episode", "title": "Naruto Shippuden", "episodes": [366]},
    ),
    (
        "Anime/[SubsPlease] Blue Girl - 09 (1080p) [58780D0A].mkv",
        "series",
        {"kind": "episode", "title": "Blue Girl", "episodes": [9]},
    ),
    (
        "Downloads/Season 2/Show - S02E01.mkv",
        "series",
        {"kind": "episode", "title": "Show", "season": 2, "episodes": [1]},
    ),
    ("Time.Girl.1080p.H.264.Atmos-GRP.mkv", "movies", {"kind": "movie", "title": "Time Girl"}),
    ("Summer.Story.H.264.UHD-GRP.mkv", "movies", {"kind": "movie", "title": "Summer Story"}),
    ("Black.Lost.WEB-DL-GRP.mkv", "movies", {"kind": "movie", "title": "Black Lost"}),
    ("Shadow.Moon.DV-GRP.mkv", "movies", {"kind": "movie", "title": "Shadow Moon"}),
    (
        "Show Name - 313-315 - s16e03-05.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "season": 16, "episodes": [3, 4, 5]},
    ),
    (
        "9-1-1 - S01E01.mkv",
        "series",
        {"kind": "episode", "title": "9-1-1", "season": 1, "episodes": [1]},
    ),
    (
        "Friends/Season 3/Friends 3-01 The One.avi",
        "series",
        {"kind": "episode", "title": "Friends", "season": 3, "episodes": [1]},
    ),
    (
        "[Grp] Fairy Tail 2 - 16-20 [720p].mkv",
        "series",
        {"kind": "episode", "title": "Fairy Tail 2", "episodes": [16, 17, 18, 19, 20]},
    ),
    (
        "[SubsPlease] World War - 113 (1080p) [E8EE65A1].mkv",
        "series",
        {"kind": "episode", "title": "World War", "episodes": [113]},
    ),
    ("Show/Season 1/Show.S01E01.720p-sample.mkv", "series", {"kind": "ignored", "extra": "sample"}),
    (
        "Bones.S03.720p.HDTV.x264-SCENE.mkv",
        "series",
        {"kind": "episode", "title": "Bones", "season": 3},
    ),
    (
        "Film (2010)/Film (2010) - Trailer.mkv",
        "movies",
        {"kind": "extra", "title": "Film", "year": 2010, "extra": "trailer"},
    ),
    ("The Trailer (2019).mkv", "movies", {"kind": "movie", "title": "The Trailer", "year": 2019}),
    (
        "Film (2010)/Film (2010) - Featurette.mkv",
        "movies",
        {"kind": "extra", "title": "Film", "year": 2010, "extra": "featurette"},
    ),
    ("The Other (2010).mkv", "movies", {"kind": "movie", "title": "The Other", "year": 2010}),
    (
        "Perfect Child-2007-TRUEFRENCH-TVRip.Xvid-GRP.avi",
        "movies",
        {"kind": "movie", "title": "Perfect Child", "year": 2007},
    ),
    (
        "Spider-Man-Far-From-Home.mkv",
        "movies",
        {"kind": "movie", "title": "Spider-Man-Far-From-Home"},
    ),
    (
        "Film 2010 part1 1080p.mkv",
        "movies",
        {"kind": "movie", "title": "Film", "year": 2010, "part": 1},
    ),
    # --- library kind guessed from the stronger signs ---
    (
        "[Group][Kimetsu no Yaiba][11][BDRIP][1920x1080].mp4",
        None,
        {"kind": "episode", "title": "Kimetsu no Yaiba", "episodes": [11]},
    ),
    (
        "One.Piece.E576.720p.HDTV.x264-GRP.mkv",
        None,
        {"kind": "episode", "title": "One Piece", "episodes": [576]},
    ),
    (
        "Sherlock.S01.720p.BluRay.x264-GRP.mkv",
        None,
        {"kind": "episode", "title": "Sherlock", "season": 1},
    ),
    ("Show S01xE05.mkv", None, {"kind": "episode", "title": "Show", "season": 1, "episodes": [5]}),
    ("WALL-E.2008.1080p.mkv", None, {"kind": "movie", "title": "WALL-E", "year": 2008}),
    ("3-07 - A Title.mp4", None, {"kind": "episode", "season": 3, "episodes": [7]}),
    ("S02E04 - Part 2.mkv", None, {"kind": "episode", "season": 2, "episodes": [4], "part": 2}),
    (
        "Some Film (2012) - 4k part2.mkv",
        None,
        {"kind": "movie", "title": "Some Film", "year": 2012, "version": "4k", "part": 2},
    ),
]


#: The examples of Plex's naming guides ("Naming and organizing your Movie files", "... TV Show
#: files", "Local Files for Trailers and Extras", split and multi-part items) and Kodi's wiki
#: ("Naming video files/Movies", "/TV shows", file stacking), as those pages show them.
GUIDE_ROWS: list[tuple[str, str | None, dict[str, Any]]] = [
    # --- Plex ---
    (
        "Movies/Avatar (2009)/Avatar (2009).mkv",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009},
    ),
    (
        "Movies/Batman Begins (2005)/Batman Begins (2005).mp4",
        "movies",
        {"kind": "movie", "title": "Batman Begins", "year": 2005},
    ),
    (
        "Movies/Avatar (2009)/Avatar (2009) - pt1.mp4",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009, "part": 1},
    ),
    (
        "Movies/Avatar (2009)/Avatar (2009) - pt2.mp4",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009, "part": 2},
    ),
    (
        "Movies/Pulp Fiction (1994)/Pulp Fiction (1994) - disc1.mkv",
        "movies",
        {"kind": "movie", "title": "Pulp Fiction", "year": 1994, "part": 1},
    ),
    (
        "Movies/Blade Runner (1982) {edition-Director's Cut}/"
        "Blade Runner (1982) {edition-Director's Cut}.mp4",
        "movies",
        {"kind": "movie", "title": "Blade Runner", "year": 1982, "edition": "Director's Cut"},
    ),
    (
        "Movies/Batman Begins (2005) {imdb-tt0372784}/Batman Begins (2005) {imdb-tt0372784}.mp4",
        "movies",
        {"kind": "movie", "title": "Batman Begins", "year": 2005, "ids": {"imdb": "tt0372784"}},
    ),
    (
        "Movies/Batman Begins (2005) {tmdb-272}/Batman Begins (2005) {tmdb-272}.mp4",
        "movies",
        {"kind": "movie", "title": "Batman Begins", "year": 2005, "ids": {"tmdb": 272}},
    ),
    (
        "Movies/Avatar (2009)/Arrival-deleted.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "deletedscene"},
    ),
    (
        "Movies/Avatar (2009)/Performance Capture-behindthescenes.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "behindthescenes"},
    ),
    (
        "Movies/Avatar (2009)/Meet the Na'vi-featurette.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "featurette"},
    ),
    (
        "Movies/Avatar (2009)/Sigourney Weaver-interview.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "interview"},
    ),
    (
        "Movies/Avatar (2009)/Teaser Trailer-trailer.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "trailer"},
    ),
    (
        "Movies/Avatar (2009)/Behind The Scenes/Performance Capture.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "behindthescenes"},
    ),
    (
        "Movies/Avatar (2009)/Deleted Scenes/Arrival.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "deletedscene"},
    ),
    (
        "Movies/Avatar (2009)/Featurettes/Meet the Na'vi.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "featurette"},
    ),
    (
        "Movies/Avatar (2009)/Interviews/Sigourney Weaver.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "interview"},
    ),
    (
        "Movies/Avatar (2009)/Trailers/Teaser Trailer.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "trailer"},
    ),
    (
        "Movies/Avatar (2009)/Other/Concept Art.mkv",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "other"},
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Season 01/"
        "Grey's Anatomy (2005) - s01e01 - A Hard Day's Night.avi",
        "series",
        {"kind": "episode", "title": "Grey's Anatomy", "year": 2005, "season": 1, "episodes": [1]},
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Season 02/Grey's Anatomy (2005) - s02e01-e03.avi",
        "series",
        {
            "kind": "episode",
            "title": "Grey's Anatomy",
            "year": 2005,
            "season": 2,
            "episodes": [1, 2, 3],
        },
    ),
    (
        "TV Shows/The Colbert Report (2005)/Season 08/"
        "The Colbert Report (2005) - 2011-11-15 - Elijah Wood.avi",
        "series",
        {
            "kind": "episode",
            "title": "The Colbert Report",
            "year": 2005,
            "season": 8,
            "air_date": "2011-11-15",
        },
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Specials/"
        "Grey's Anatomy (2005) - s00e01 - Straight to the Heart.mkv",
        "series",
        {"kind": "episode", "title": "Grey's Anatomy", "year": 2005, "season": 0, "episodes": [1]},
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Season 01/Grey's Anatomy (2005) - s01e01 - pt1.avi",
        "series",
        {
            "kind": "episode",
            "title": "Grey's Anatomy",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "part": 1,
        },
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Season 01/Grey's Anatomy (2005) - s01e01 - pt2.avi",
        "series",
        {
            "kind": "episode",
            "title": "Grey's Anatomy",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "part": 2,
        },
    ),
    (
        "TV Shows/Grey's Anatomy (2005) {tvdb-73762}/Season 01/Grey's Anatomy (2005) - s01e01.avi",
        "series",
        {
            "kind": "episode",
            "title": "Grey's Anatomy",
            "year": 2005,
            "season": 1,
            "episodes": [1],
            "ids": {"tvdb": 73762},
        },
    ),
    (
        "TV Shows/Dragon Ball Z Kai (2009)/Season 01/Dragon Ball Z Kai (2009) - 001.mp4",
        "series",
        {
            "kind": "episode",
            "title": "Dragon Ball Z Kai",
            "year": 2009,
            "season": 1,
            "episodes": [1],
        },
    ),
    (
        "TV Shows/Grey's Anatomy (2005)/Season 01/Behind The Scenes/Making of.mkv",
        "series",
        {
            "kind": "extra",
            "title": "Grey's Anatomy",
            "year": 2005,
            "season": 1,
            "extra": "behindthescenes",
        },
    ),
    # --- Kodi ---
    ("Movies/Avatar (2009).mkv", "movies", {"kind": "movie", "title": "Avatar", "year": 2009}),
    (
        "Movies/Avatar (2009)/Avatar (2009)-cd1.avi",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009, "part": 1},
    ),
    (
        "Movies/Avatar (2009)/Avatar (2009)-part2.avi",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009, "part": 2},
    ),
    (
        "Movies/Avatar (2009)/Avatar (2009)-dvd1.vob",
        "movies",
        {"kind": "movie", "title": "Avatar", "year": 2009, "part": 1},
    ),
    (
        "Movies/Avatar (2009)/Avatar (2009)-trailer.mp4",
        "movies",
        {"kind": "extra", "title": "Avatar", "year": 2009, "extra": "trailer"},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name S01E01.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1]},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name 1x01.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1]},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name S01E01E02.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name S01E01-E02.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name 1x01_1x02.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1, 2]},
    ),
    (
        "TV Shows/Show Name (2011)/Season 1/Show Name - 101.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 1, "episodes": [1]},
    ),
    (
        "TV Shows/Show Name (2011)/Specials/Show Name S00E01.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "year": 2011, "season": 0, "episodes": [1]},
    ),
    (
        "TV Shows/Show Name/Show.2011.01.03.mkv",
        "series",
        {"kind": "episode", "title": "Show Name", "air_date": "2011-01-03"},
    ),
]


def expected(path: str, fields: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(KEYS)
    out.update(fields, path=path)
    return out


def test_table_is_large_and_unique() -> None:
    assert len(ROWS) >= 150
    assert len({(path, kind) for path, kind, _ in ROWS}) == len(ROWS)


@pytest.mark.parametrize(
    ("path", "library_kind", "fields"), ROWS, ids=[f"{kind}:{path}" for path, kind, _ in ROWS]
)
def test_names(path: str, library_kind: Any, fields: dict[str, Any]) -> None:
    assert parse_name(path, library_kind).to_dict() == expected(path, fields)


@pytest.mark.parametrize(
    ("path", "library_kind", "fields"),
    GUIDE_ROWS,
    ids=[f"{kind}:{path}" for path, kind, _ in GUIDE_ROWS],
)
def test_plex_and_kodi_guide_examples(path: str, library_kind: Any, fields: dict[str, Any]) -> None:
    """A library laid out by the Plex or Kodi guide reads as those guides say it does."""
    assert parse_name(path, library_kind).to_dict() == expected(path, fields)


def test_key_order_is_the_documented_one() -> None:
    assert list(parse_name("Movie (2010).mkv").to_dict()) == KEYS
    assert list(ParsedName.__struct_fields__) == KEYS


def test_bytes_path_with_undecodable_name_gives_a_readable_title() -> None:
    """A Latin-1 name on a UTF-8 system: the title reads the legacy bytes, the path keeps them."""
    result = parse_name(b"Films/Am\xe9lie (2001)/Am\xe9lie (2001) - 1080p.mkv", "movies")
    assert result.kind == "movie"
    assert result.title == "Amélie"
    assert result.year == 2001
    assert result.version == "1080p"
    # path keeps the real bytes (surrogate escapes) so the file can still be opened ...
    assert os.fsencode(result.path) == b"Films/Am\xe9lie (2001)/Am\xe9lie (2001) - 1080p.mkv"
    # ... and the printable form shows what the bytes meant
    assert result.to_dict()["path"] == "Films/Amélie (2001)/Amélie (2001) - 1080p.mkv"
    episode = parse_name(os.fsdecode(b"S\xe9rie/Season 01/S\xe9rie - S01E03.mkv"))
    assert (episode.kind, episode.title, episode.season, episode.episodes) == (
        "episode",
        "Série",
        1,
        [3],
    )
    # cp1252's own range (curly quotes, the euro sign); a byte it leaves undefined is U+FFFD
    legacy = parse_name(b"\x93Quoted\x94 \x80 Story \x81 (2016).mkv", "movies")
    assert legacy.title == "\u201cQuoted\u201d \u20ac Story \ufffd"
    # UTF-8 names are untouched, also next to a legacy byte in another folder
    mixed = parse_name("Caf\u00e9/".encode() + b"Caf\xe9 Society (2016).mkv", "movies")
    assert (mixed.title, mixed.year) == ("Café Society", 2016)
    json.dumps(legacy.to_dict(), ensure_ascii=False).encode("utf-8")  # printable, storable


def test_pathlike_and_nfd_names() -> None:
    nfd = "Ame\u0301lie (2001).mkv"  # as macOS writes it
    result = parse_name(Path(nfd))
    assert result.title == "Am\u00e9lie"
    assert result.path == nfd


def test_root_hides_folders_above_the_library() -> None:
    path = "/srv/.media/Shorts/Heat (1995)/Heat (1995).mkv"
    assert parse_name(path, "movies").kind == "ignored"  # hidden folder on the way
    result = parse_name(path, "movies", root="/srv/.media/Shorts")
    assert (result.kind, result.title, result.year, result.extra) == ("movie", "Heat", 1995, None)
    flat = parse_name("/srv/anime/[Grp] Show - 05.mkv", "series", root="/srv/anime")
    assert (flat.title, flat.episodes) == ("Show", [5])


def test_guess_library_kind() -> None:
    assert guess_library_kind("Movie (2010).mkv") == "movies"
    assert guess_library_kind("Show/Season 01/x.mkv") == "series"
    assert guess_library_kind("Show.S01E02.mkv") == "series"
    assert guess_library_kind("Show 3x04.mkv") == "series"
    assert guess_library_kind("Show 2024-03-01.mkv") == "series"
    assert guess_library_kind("[Grp] Show - 05 (1080p).mkv") == "series"
    assert guess_library_kind("Naruto - 102.mkv") == "movies"
    assert guess_library_kind("Show Name - 01 - Ep Name.mkv") == "series"
    assert guess_library_kind("01 - Pilot.mkv") == "series"
    assert guess_library_kind("003. Show Name - Ep Name.avi") == "series"
    assert guess_library_kind("Show.S01.720p.HDTV-GRP/show.0106.720p-grp.mkv") == "series"
    assert guess_library_kind("Film - 2010 - 1080p.mkv") == "movies"
    assert guess_library_kind("1917 - Extended.mkv") == "movies"
    assert guess_library_kind("Bleach/Bleach - 366 [720p].mkv") == "series"
    assert guess_library_kind("Mob Psycho 100 - 01.mkv") == "series"
    assert guess_library_kind("Rocky/Rocky - 2.mkv") == "movies"
    assert guess_library_kind("Apollo 13 (1995)/Apollo - 13.mkv") == "movies"


def test_folder_helpers() -> None:
    assert season_of_dir("Season 01") == 1
    assert season_of_dir("Specials") == 0
    assert season_of_dir("S3") == 3
    assert season_of_dir("Seasonal Movies") is None
    assert extra_dir_kind("Behind The Scenes") == "behindthescenes"
    assert extra_dir_kind("deleted_scenes") == "deletedscene"
    assert extra_dir_kind("Season 01") is None
    assert is_ignored_dir_name(".git") and is_ignored_dir_name("@eaDir")
    assert not is_ignored_dir_name("Movies")


def test_is_ignored_dir_reads_the_ignore_file(tmp_path: Path) -> None:
    kept = tmp_path / "Movie (2010)"
    dropped = tmp_path / "Private (2011)"
    for folder in (kept, dropped):
        folder.mkdir()
    (dropped / ".ignore").touch()
    assert not is_ignored_dir(kept)
    assert is_ignored_dir(dropped)
    assert is_ignored_dir(os.fsencode(dropped))
    assert is_ignored_dir(tmp_path / ".hidden")


def test_random_names_never_crash() -> None:
    rnd = random.Random(20261124)
    alphabet = b"aSE0123456789x-._ ()[]{}/\xe9\xff\x80tmdbid-Season part cd"
    for _ in range(3000):
        name = bytes(rnd.choice(alphabet) for _ in range(rnd.randint(0, 40)))
        for kind in (None, "movies", "series"):
            result = parse_name(name + b".mkv", kind)
            encoded = json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
            assert result.kind in {"movie", "episode", "extra", "ignored"}, encoded


def run_cli(*args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERREX_")}
    env["FERREX_DATA_DIR"] = "/nonexistent/ferrex-data"  # parse-name must not need one
    return subprocess.run(
        [*APPLIANCE, "parse-name", *args],
        capture_output=True,
        env=env,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_cli_prints_one_json_object_per_path() -> None:
    paths = [
        "Show (2005)/Season 01/Show - S01E02-E03 - Title.mkv",
        "The Matrix (1999) [tmdbid-603]/The Matrix (1999) - 1080p.mkv",
        "Movie (2010)/Trailers/Teaser.mkv",
        "notes.txt",
    ]
    result = run_cli(*paths)
    assert result.returncode == 0, result.stderr
    assert result.stderr == b""
    lines = result.stdout.decode("utf-8").splitlines()
    assert len(lines) == 4
    objects = [json.loads(line) for line in lines]
    for obj in objects:
        assert list(obj) == KEYS
    assert objects[0] == expected(
        paths[0],
        {"kind": "episode", "title": "Show", "year": 2005, "season": 1, "episodes": [2, 3]},
    )
    assert objects[1] == expected(
        paths[1],
        {
            "kind": "movie",
            "title": "The Matrix",
            "year": 1999,
            "version": "1080p",
            "ids": {"tmdb": 603},
        },
    )
    assert objects[2] == expected(
        paths[2], {"kind": "extra", "title": "Movie", "year": 2010, "extra": "trailer"}
    )
    assert objects[3] == expected(paths[3], {"kind": "ignored"})


def test_cli_library_kind_changes_the_reading() -> None:
    path = "Naruto - 102.mkv"
    guessed = json.loads(run_cli(path).stdout)
    series = json.loads(run_cli("--library-kind", "series", path).stdout)
    assert (guessed["kind"], guessed["title"]) == ("movie", "Naruto - 102")
    assert (series["kind"], series["title"], series["season"], series["episodes"]) == (
        "episode",
        "Naruto",
        None,
        [102],
    )


def test_cli_refuses_an_unknown_library_kind() -> None:
    result = run_cli("--library-kind", "music", "x.mkv")
    assert result.returncode == 2
    assert b"invalid choice" in result.stderr


def test_cli_non_utf8_file_on_disk(tmp_path: Path) -> None:
    folder = os.path.join(os.fsencode(tmp_path), b"Caf\xe9 Society (2016)")
    os.mkdir(folder)
    name = os.path.join(folder, b"Caf\xe9 Society (2016) - 720p.mkv")
    with open(name, "wb"):
        pass
    shown = os.fsdecode(name)  # what a shell would pass: the same bytes
    assert os.path.exists(os.fsencode(shown))
    result = run_cli(name)
    assert result.returncode == 0, result.stderr
    obj = json.loads(result.stdout.decode("utf-8"))
    assert obj["title"] == "Café Society"
    assert (obj["kind"], obj["year"], obj["version"]) == ("movie", 2016, "720p")
    assert obj["path"] == os.fsdecode(name).encode("utf-8", "surrogateescape").decode("cp1252")
