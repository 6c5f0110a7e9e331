"""The report's sections, one module per mart area, in the order of the page."""

from .accuracy import human_delta
from .agreement import agreement
from .classes import class_census, minors
from .cooccurrence import cooccurrence
from .coverage import coverage
from .nsfw import nsfw
from .people import demographics, table4
from .semantics import semantics
from .supercategories import supercategories

SECTIONS = (coverage, table4, demographics, class_census, supercategories, agreement, nsfw, semantics, cooccurrence,
            human_delta, minors)
