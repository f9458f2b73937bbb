"""Give a seeded province one transcript per pupil of the current school year, for the
dashboard's benchmark (``bench/dashboard.py --size province``).

The seed writes gradebooks, not transcripts; signing progress over an empty table
would be measured over nothing. This adds, in one ``INSERT … SELECT`` on PostgreSQL,
a transcript (documents left empty: the dashboard reads states, never documents) for
every enrolment of the current year, its state spread as in the middle of a roll-out
(by school, from mostly drafts to mostly sealed) and its year's results spread as a
province's are (TT27's for grades 1–5, TT22's above; one in ten not promoted at
first). Run once; again does nothing:

    .venv/bin/python bench/province_transcripts.py [--url postgresql+psycopg://…/hub_bench]
"""

import argparse
import time

import psycopg
from sqlalchemy.engine import make_url

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/hub_bench"
STATES = ("DRAFT", "READY", "SIGNED_BY_HOMEROOM", "SIGNED_BY_PRINCIPAL", "SEALED", "PUBLISHED")

FILL = """
INSERT INTO transcripts (document_id, student_id, school_year_id, school_id, class_id,
                         version, is_current, state, xml, pdf, xml_sha256,
                         learning_result, conduct_result, outcome)
SELECT gen_random_uuid()::text, e.student_id, e.school_year_id, c.school_id, e.class_id,
       1, true,
       (%(states)s::text[])[1 + least(5, greatest(0,
            ((c.school_id * 7 + e.student_id) %% 11) - (c.school_id %% 5)))],
       ''::bytea, ''::bytea, '',
       CASE WHEN c.grade <= 5
            THEN (ARRAY['EXCELLENT','WELL','WELL','DONE','DONE','DONE','DONE','DONE','DONE',
                        'NOT_DONE'])[1 + (e.student_id * 13 %% 10)]
            ELSE (ARRAY['GOOD','GOOD','FAIR','FAIR','FAIR','PASS','PASS','PASS','PASS',
                        'FAIL'])[1 + (e.student_id * 13 %% 10)] END,
       CASE WHEN c.grade <= 5 THEN NULL
            ELSE (ARRAY['GOOD','GOOD','GOOD','GOOD','GOOD','FAIR','FAIR','FAIR','PASS',
                        'FAIL'])[1 + (e.student_id * 7 %% 10)] END,
       CASE WHEN e.student_id * 13 %% 10 < 9 THEN 'PROMOTED'
            WHEN c.grade <= 5 THEN 'RETAINED'
            ELSE (ARRAY['RETEST','RETEST','SUMMER_TRAINING','RETAINED'])[1 + (e.student_id %% 4)]
       END
FROM enrolments e
JOIN classes c ON c.id = e.class_id
JOIN school_years y ON y.id = e.school_year_id AND y.is_current
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL)
    args = parser.parse_args()
    url = make_url(args.url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as connection:
        count = connection.execute("SELECT count(*) FROM transcripts").fetchone()
        if count and count[0]:
            print(f"{count[0]:,} transcripts already there; nothing to do")
            return
        began = time.perf_counter()
        inserted = connection.execute(FILL, {"states": list(STATES)}).rowcount
        connection.execute("ANALYZE transcripts")
        print(f"{inserted:,} transcripts in {time.perf_counter() - began:.1f} s")


if __name__ == "__main__":
    main()
