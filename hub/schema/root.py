"""The root types: ``Query`` and ``Mutation``, each the fields of every part of the API.

Each part (records, change feed, reports, access log, transcripts, gradebook, vendor
writes, signing, jobs) defines its fields in its own module; the order of the bases
is the order of the fields in the SDL.
"""

import strawberry

from hub.schema.access_log import AccessLogQueries
from hub.schema.assessments import GradebookMutations
from hub.schema.certificates_jobs import CertificateJobMutations, CertificateJobQueries
from hub.schema.changes import ChangeQueries
from hub.schema.generation import GenerationMutations, GenerationQueries
from hub.schema.guardians import GuardianMutations
from hub.schema.me import MeMutations, MeQueries
from hub.schema.records import RecordQueries
from hub.schema.reports import CoverageQueries, StudentReportQueries
from hub.schema.signing import SigningMutations, SigningQueries
from hub.schema.signing_batches import JobMutations, JobQueries
from hub.schema.statistics import StatisticsQueries
from hub.schema.sync import SyncMutations, SyncQueries
from hub.schema.transcripts import TranscriptMutations
from hub.schema.writes import VendorWriteMutations


@strawberry.type
class Query(
    SigningQueries,
    JobQueries,
    SyncQueries,
    CertificateJobQueries,
    GenerationQueries,
    RecordQueries,
    ChangeQueries,
    CoverageQueries,
    AccessLogQueries,
    StudentReportQueries,
    StatisticsQueries,
    MeQueries,
):
    """Every read of the API."""


@strawberry.type
class Mutation(
    SigningMutations,
    JobMutations,
    SyncMutations,
    CertificateJobMutations,
    GenerationMutations,
    TranscriptMutations,
    GradebookMutations,
    VendorWriteMutations,
    GuardianMutations,
    MeMutations,
):
    """Every write of the API."""
