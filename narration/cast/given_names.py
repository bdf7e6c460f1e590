"""Given names that say a gender, for characters the pronouns around them leave undecided.

A name like "Gilbert", "Cynthia" or "Harry" is as good a gender clue as a title, and the
novels this reads (mostly English-language fiction, 1800-1940) draw on a small stock of
them. The lists are common English given names and their usual pet forms, written here
from general knowledge (not from any corpus); a name used for both (Frances/Francis
aside, e.g. "Leslie", "Marion") is left out. They are only a fallback: titles and the
pronouns that follow a name in the text decide first.
"""

from __future__ import annotations

from collections import Counter

from narration.cast.lexicon import TITLES, words

MALE_NAMES = words(
    """
    Aaron Abel Abraham Adam Adolphus Adrian Albert Alan Alec Alexander Alfred Algernon Alick
    Allan Alonzo Ambrose Amos Andrew Andy Angus Anthony Antonio Archibald Archie Arnold Arthur
    Augustus Austin Barnaby Bart Bartholomew Basil Ben Benjamin Benedict Bernard Bert Bertie
    Bertram Bill Billy Bob Bobby Boris Bruce Bruno Byron Caleb Carl Cecil Cedric Charles
    Charley Charlie Chris Christopher Clarence Claude Clement Clifford Colin Conrad Cyril Dan
    Daniel David Davy Denis Dennis Derek Dick Dickon Dolph Donald Dorian Douglas Duncan Edgar
    Edmund Edward Edwin Eli Elias Elijah Emil Enoch Ephraim Erasmus Eric Ernest Eugene Eustace
    Ezra Felix Ferdinand Francis Frank Franz Fred Freddie Freddy Frederic Frederick Gabriel
    Gaston Geoffrey George Gerald Gerard Gilbert Giles Godfrey Gordon Gregory Gus Guy Hal Hans
    Harold Harry Harvey Hector Henry Herbert Herman Hiram Horace Horatio Hubert Hugh Hugo
    Humphrey Ichabod Isaac Ivan Jack Jacob Jake James Jamie Jasper Jem Jeremiah Jeremy Jerry
    Jim Jimmy Joe Joel John Johnny Jonah Jonas Jonathan Joseph Josh Joshua Josiah Jud Julian
    Julius Karl Ken Kenneth Kit Lance Laurence Lawrence Leo Leon Leonard Leopold Lewis Lionel
    Louis Lucas Lucian Ludovic Luke Malcolm Mark Martin Matthew Maurice Max Michael Mike Miles
    Mortimer Moses Nat Nathan Nathaniel Ned Neville Nicholas Nick Noah Noel Oliver Oscar Oswald
    Owen Patrick Paul Percival Percy Peter Phil Philip Pierre Ralph Randolph Raymond Reginald
    Reuben Richard Rob Robert Robin Roderick Rodney Roger Roland Ronald Rudolph Rufus Rupert
    Sam Sammy Samuel Saul Sebastian Seth Sidney Silas Simon Solomon Stanley Stephen Steve
    Theodore Thomas Tim Timothy Toby Tom Tommy Tony Victor Vincent Walter Wilfred Wilfrid
    Will William Willie Willy Winthrop Zachary
    """
)

FEMALE_NAMES = words(
    """
    Abigail Ada Adela Adelaide Adeline Agatha Agnes Alice Alicia Amanda Amelia Amy Angela
    Angelina Ann Anna Annabel Anne Annette Annie Antonia Arabella Augusta Barbara Beatrice
    Beatrix Becky Bella Bertha Bessie Bessy Betsey Betsy Betty Blanche Bridget Caroline
    Carrie Catharine Catherine Cathy Cecilia Cecily Celia Charity Charlotte Christina
    Christine Clara Clarissa Constance Cora Cordelia Cornelia Cynthia Daisy Deborah Delia
    Diana Dinah Dolly Dora Dorcas Doris Dorothea Dorothy Edith Edna Eleanor Elinor Eliza
    Elizabeth Ella Ellen Elsie Emilia Emily Emma Esther Ethel Eugenia Euphemia Eva Evelina
    Evie Fanny Flora Florence Frances Georgiana Georgina Gertrude Gladys Grace Gwendolen
    Hannah Harriet Harriett Hattie Helen Helena Henrietta Hester Hetty Hilda Honoria Ida Irene
    Isabel Isabella Isabelle Jane Janet Janey Jemima Jenny Jessie Joan Josephine Judith
    Julia Juliet Kate Katharine Katherine Kathleen Katie Katy Kitty Laura Lavinia Letitia Lily
    Lizzie Lizzy Lottie Louisa Louise Lucille Lucinda Lucy Lydia Mabel Madeline Maggie Marcia
    Margaret Margery Maria Marian Marianne Marie Marilla Martha Mary Matilda Maud Maude May
    Medora Meg Milly Minnie Miriam Molly Nancy Nell Nellie Nelly Nora Olive Olivia Patty
    Pauline Peggy Penelope Phoebe Polly Priscilla Prudence Rachael Rachel Rebecca Rhoda Rosa
    Rosalind Rosamond Rose Ruby Ruth Sally Sarah Selina Sibyl Sophia Sophie Sophy Susan
    Susanna Susannah Sybil Sylvia Teresa Theresa Tilly Ursula Victoria Violet Virginia
    Winifred
    """
)


def name_gender(name_words: tuple[str, ...] | list[str]) -> str:
    """M / F from the first word of an untitled name ("Gilbert Blythe" -> M), else U."""
    if not name_words:
        return "U"
    first = name_words[0]
    if first in MALE_NAMES:
        return "M"
    if first in FEMALE_NAMES:
        return "F"
    return "U"


# Professional titles that, in the fiction of 1800-1940, go with a man when nothing in the
# text says otherwise (Dr. Bull, Professor de Worms, Inspector Japp).
_MAN_BY_DEFAULT = words("Dr Doctor Professor Prof Inspector Judge Rev Reverend")


def forms_gender(forms: Counter[str]) -> str:
    """The gender the given names of an undecided character say (most used form first),
    else M for a professional title, else U."""
    votes: Counter[str] = Counter()
    titled = False
    for form, n in forms.items():
        parts = form.replace(".", " ").split()
        if parts and parts[0].lower() == "the":
            parts = parts[1:]
        if not parts:
            continue
        if parts[0] in TITLES:
            titled = titled or parts[0] in _MAN_BY_DEFAULT
            continue
        votes[name_gender(parts)] += n
    votes.pop("U", None)
    if votes and len(votes) == 1:
        return next(iter(votes))
    if votes:
        (top, a), (_, b) = votes.most_common(2)
        return top if a >= 3 * b else "U"
    return "M" if titled else "U"
