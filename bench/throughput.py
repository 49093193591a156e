"""Write throughput: many clinicians logging visits at once through the same command the visit form calls.

Each clinician is a thread with their own prescriber login and their own patients (two clinicians do not chart
on one patient at the same moment). A save is what the form does on "Save visit": read the patient's version,
then `log_visit` (validation, scoring, flags, labs, audit, one transaction). All threads share one process, as
the users of one app server do; the program runs one process per server, so this is one server's load. The
audit sealer runs beside them as in an app server (every ``SEAL_INTERVAL_SECONDS``); at the end the remaining rows
are sealed and the whole audit log verified, so that a benchmark never hides a broken chain.
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select, text

from db.audit import verify_chain
from db.audit_seal import seal_pending
from db.auth import actor_for
from db.commands import EditConflict
from db.commands.visits import VisitInput, log_visit
from db.engine import read_session, utcnow
from db.models import Patient, User

SEAL_INTERVAL_SECONDS = 2.0  # the app's default AUDIT_SEAL_INTERVAL_SECONDS


@dataclass
class ThroughputResult:
    backend: str
    clinicians: int
    seconds: float
    saves: int
    saves_per_second: float
    median_ms: float
    p95_ms: float
    conflicts: int
    errors: int
    # This process's CPU time per save (Python holds the GIL for most of it): one process cannot save faster
    # than 1000 / cpu_ms_per_save per second, however many threads it runs.
    cpu_ms_per_save: float = 0.0
    # PostgreSQL: how many of the clinicians' transactions were waiting for a lock, on average (sampled).
    waiting_on_locks: float | None = None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure_write_throughput(
    backend: str, engine: Engine, *, clinicians: int = 20, seconds: float = 30.0
) -> ThroughputResult:
    with read_session(engine) as session:
        prescribers = list(session.scalars(select(User).where(User.role == "prescriber", User.is_active)))
        actors = [actor_for(user) for user in prescribers]
        caseloads: dict[int, list[int]] = {}
        for patient_id, prescriber_id in session.execute(
            select(Patient.id, Patient.prescriber_id).where(Patient.discharge_date.is_(None))
        ):
            caseloads.setdefault(prescriber_id, []).append(patient_id)
    actors = [actor for actor in actors if caseloads.get(actor.user_id)]
    latencies: list[float] = []
    conflicts = [0]
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(clinicians)

    def clinician(index: int) -> None:
        rng = random.Random(index)
        actor = actors[index % len(actors)]
        # Clinicians sharing a prescriber login take alternate patients, so no two chart on one patient.
        sharing = [n for n in range(clinicians) if n % len(actors) == index % len(actors)]
        mine = caseloads[actor.user_id][sharing.index(index) :: len(sharing)] or caseloads[actor.user_id]
        start_gate.wait()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            patient_id = rng.choice(mine)
            started = time.perf_counter()
            try:
                with read_session(engine) as session:
                    version = session.scalar(select(Patient.version).where(Patient.id == patient_id))
                log_visit(
                    actor,
                    patient_id,
                    VisitInput(
                        visit_at=utcnow() - timedelta(minutes=1),
                        modality="video",
                        duration_minutes=25,
                        phq9=[rng.randint(0, 3) for _ in range(8)] + [0],
                        gad7=[rng.randint(0, 3) for _ in range(7)],
                        assessment_note="Benchmark visit (synthetic).",
                    ),
                    expected_patient_version=version,
                )
            except EditConflict:
                with lock:
                    conflicts[0] += 1
                continue
            except Exception as error:  # counted and reported: a benchmark must not hide failures
                with lock:
                    errors.append(f"{type(error).__name__}: {error}")
                continue
            with lock:
                latencies.append((time.perf_counter() - started) * 1000)

    stop_sealing = threading.Event()

    def sealer() -> None:
        while not stop_sealing.wait(SEAL_INTERVAL_SECONDS):
            seal_pending(engine)

    lock_samples: list[int] = []
    stop_sampling = threading.Event()

    def sample_lock_waits() -> None:
        with engine.connect() as connection:
            while not stop_sampling.wait(0.05):
                lock_samples.append(
                    connection.execute(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                        )
                    ).scalar_one()
                )
                connection.rollback()

    sampler = threading.Thread(target=sample_lock_waits, name="lock-wait-sampler")
    if engine.dialect.name == "postgresql":
        sampler.start()
    threads = [threading.Thread(target=clinician, args=(n,)) for n in range(clinicians)]
    sealing = threading.Thread(target=sealer, name="audit-sealer")
    started = time.perf_counter()
    cpu_started = time.process_time()
    sealing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    stop_sampling.set()
    if sampler.is_alive():
        sampler.join()
    stop_sealing.set()
    sealing.join()
    seal_started = time.perf_counter()
    seal_pending(engine)
    with read_session(engine) as session:
        chain = verify_chain(session)
    print(
        f"{backend}: audit log {'intact' if chain.intact else 'BROKEN: ' + str(chain.problem)}, "
        f"{chain.sealed_rows} rows sealed, {chain.pending_rows} pending "
        f"(last seal and verification {time.perf_counter() - seal_started:.1f} s)",
        flush=True,
    )
    if errors:
        print(f"{backend}: {len(errors)} errors during the write benchmark, first: {errors[0]}", flush=True)
    return ThroughputResult(
        backend=backend,
        clinicians=clinicians,
        seconds=round(elapsed, 1),
        saves=len(latencies),
        saves_per_second=round(len(latencies) / elapsed, 1),
        median_ms=round(statistics.median(latencies), 1) if latencies else 0.0,
        p95_ms=round(percentile(latencies, 0.95), 1) if latencies else 0.0,
        conflicts=conflicts[0],
        errors=len(errors),
        cpu_ms_per_save=round(cpu_seconds * 1000 / len(latencies), 1) if latencies else 0.0,
        waiting_on_locks=round(statistics.mean(lock_samples), 1) if lock_samples else None,
    )
