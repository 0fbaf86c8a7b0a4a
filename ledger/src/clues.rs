//! Reading the ledger and taking workflow steps. Who sees a clue and who may take a step is
//! decided by `authz::can_act_on_clue` alone: a clue the caller may not read does not exist
//! for them. Each step is checked against the workflow ([`crate::workflow::next`]), recorded
//! on the clue, in `onemap.clue_events` and in the audit trail, in one transaction.

use onemap_access::{Acting, Principal};
use onemap_schemas::authz::{can_act_on_clue, ClueRight};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio_postgres::{Client, GenericClient, Row};

use crate::import::parse_date;
use crate::workflow::{self, Action, Status};
use crate::{LedgerError, LedgerResult};

/// One clue of the ledger with its enrichment and workflow fields.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Clue {
    pub id: i64,
    pub clue_id: String,
    pub source: String,
    pub batch: String,
    pub detected_on: String,
    pub activity: String,
    pub status: String,
    /// Geodesic, 0 for a point.
    pub area_m2: f64,
    /// A point on the clue, EPSG:4326.
    pub lon: f64,
    pub lat: f64,
    pub geometry: Value,
    pub props: Value,
    pub zones: Value,
    pub in_reserve: bool,
    pub station: Option<String>,
    pub station_name: Option<String>,
    pub village_code: Option<String>,
    pub village_name: Option<String>,
    /// `[{"year","class"}]`, each survey year.
    pub land_classes: Value,
    pub change_parcels: Value,
    pub suggested_lead: Option<String>,
    pub suggested_responsible: Vec<String>,
    pub lead_department: Option<String>,
    pub responsible_departments: Vec<String>,
    pub field_notes: Option<String>,
    pub verified_by: Option<String>,
    pub verified_on: Option<String>,
    pub measures: Option<String>,
    pub deadline: Option<String>,
    pub evidence: Option<String>,
    pub rectified_on: Option<String>,
    pub closed_by: Option<String>,
    pub closed_on: Option<String>,
    /// Rectifying past its deadline.
    pub overdue: bool,
    /// Ids of the clue's photos, oldest first (each at `GET /api/clues/{id}/photos/{photo}`).
    pub photo_ids: Vec<i64>,
}

impl Clue {
    fn from_row(r: &Row) -> Self {
        Self {
            id: r.get("id"),
            clue_id: r.get("clue_id"),
            source: r.get("source"),
            batch: r.get("batch"),
            detected_on: r.get("detected_on"),
            activity: r.get("activity"),
            status: r.get("status"),
            area_m2: r.get("area_m2"),
            lon: r.get("lon"),
            lat: r.get("lat"),
            geometry: r.get("geometry"),
            props: r.get("props"),
            zones: r.get("zones"),
            in_reserve: r.get("in_reserve"),
            station: r.get("station"),
            station_name: r.get("station_name"),
            village_code: r.get("village_code"),
            village_name: r.get("village_name"),
            land_classes: r.get("land_classes"),
            change_parcels: r.get("change_parcels"),
            suggested_lead: r.get("suggested_lead"),
            suggested_responsible: r.get("suggested_responsible"),
            lead_department: r.get("lead_department"),
            responsible_departments: r.get("responsible_departments"),
            field_notes: r.get("field_notes"),
            verified_by: r.get("verified_by"),
            verified_on: r.get("verified_on"),
            measures: r.get("measures"),
            deadline: r.get("deadline"),
            evidence: r.get("evidence"),
            rectified_on: r.get("rectified_on"),
            closed_by: r.get("closed_by"),
            closed_on: r.get("closed_on"),
            overdue: r.get("overdue"),
            photo_ids: r.get("photo_ids"),
        }
    }

    /// The departments the clue is assigned to: its lead and responsible departments.
    pub fn departments(&self) -> Vec<String> {
        assigned(
            self.lead_department.as_deref(),
            &self.responsible_departments,
        )
    }

    /// The steps `who` may take now.
    pub fn actions_for(&self, who: &Principal) -> Vec<Action> {
        let departments = self.departments();
        Status::parse(&self.status)
            .map(workflow::allowed)
            .unwrap_or_default()
            .into_iter()
            .filter(|a| can_act_on_clue(who, a.right(), &departments))
            .collect()
    }
}

fn assigned(lead: Option<&str>, responsible: &[String]) -> Vec<String> {
    lead.map(str::to_owned)
        .into_iter()
        .chain(responsible.iter().cloned())
        .collect()
}

/// Filters of a ledger list; `None` = any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClueFilter {
    pub status: Option<String>,
    /// Lead or responsible.
    pub department: Option<String>,
    /// The station whose jurisdiction holds the clue.
    pub station: Option<String>,
    pub overdue: Option<bool>,
    pub source: Option<String>,
}

/// The clues `who` may see that match `filter`, oldest detection first.
pub async fn list(
    client: &impl GenericClient,
    who: &Principal,
    filter: &ClueFilter,
) -> LedgerResult<Vec<Clue>> {
    if let Some(s) = &filter.status {
        if Status::parse(s).is_none() {
            return Err(LedgerError::Invalid(format!(
                "unknown status {s:?}: pending, verified_problem, verified_no_problem, \
                 rectifying, rectified or closed"
            )));
        }
    }
    query(client, who, None, filter).await
}

/// The clue `id`, if `who` may see it.
pub async fn get(client: &impl GenericClient, who: &Principal, id: i64) -> LedgerResult<Clue> {
    query(client, who, Some(id), &ClueFilter::default())
        .await?
        .pop()
        .ok_or_else(|| LedgerError::NotFound(format!("no clue {id}")))
}

async fn query(
    client: &impl GenericClient,
    who: &Principal,
    id: Option<i64>,
    f: &ClueFilter,
) -> LedgerResult<Vec<Clue>> {
    let rows = client
        .query(
            include_str!("sql/clues.sql"),
            &[
                &id,
                &f.status,
                &f.department,
                &f.station,
                &f.overdue,
                &f.source,
            ],
        )
        .await
        .map_err(LedgerError::pg("reading the ledger"))?;
    Ok(rows
        .iter()
        .map(Clue::from_row)
        .filter(|c| can_act_on_clue(who, ClueRight::Read, &c.departments()))
        .collect())
}

/// The clues rectifying past their deadline (everything: the operator's daily job).
pub async fn overdue(client: &impl GenericClient) -> LedgerResult<Vec<Clue>> {
    let filter = ClueFilter {
        overdue: Some(true),
        ..ClueFilter::default()
    };
    query(client, &Principal::Operator("ledger".into()), None, &filter).await
}

/// One step of the workflow, as `POST /api/clues/{id}/transitions` takes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StepRequest {
    pub action: String,
    /// Verification: what was found in the field.
    pub notes: Option<String>,
    /// Verification: who verified (default: the caller).
    pub verifier: Option<String>,
    /// Verification, rectification and sign-off: the date (YYYY-MM-DD; sign-off default today).
    pub date: Option<String>,
    pub measures: Option<String>,
    pub deadline: Option<String>,
    pub lead: Option<String>,
    pub responsible: Option<Vec<String>>,
    pub evidence: Option<String>,
    /// Sign-off: a remark.
    pub note: Option<String>,
    /// Verification and the rectification report: ids of the clue's photos
    /// (`POST /api/clues/{id}/photos`) that document the step.
    pub photos: Option<Vec<i64>>,
}

/// A history entry of a clue.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClueEvent {
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub at: String,
    pub details: Value,
    pub audit_seq: i64,
}

/// The workflow steps of clue `id` (already authorized), oldest first.
pub async fn events(client: &impl GenericClient, id: i64) -> LedgerResult<Vec<ClueEvent>> {
    let rows = client
        .query(include_str!("sql/clue_events.sql"), &[&id])
        .await
        .map_err(LedgerError::pg("reading the clue's history"))?;
    Ok(rows
        .iter()
        .map(|r| ClueEvent {
            action: r.get("action"),
            from_status: r.get("from_status"),
            to_status: r.get("to_status"),
            actor: r.get("actor"),
            at: r.get("at"),
            details: r.get("details"),
            audit_seq: r.get("audit_seq"),
        })
        .collect())
}

const MAX_TEXT: usize = 10_000;

fn text(value: &Option<String>, what: &str) -> LedgerResult<String> {
    match value.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() && t.chars().count() <= MAX_TEXT => Ok(t.to_owned()),
        Some(t) if !t.is_empty() => Err(LedgerError::Invalid(format!(
            "{what} is longer than {MAX_TEXT} characters"
        ))),
        _ => Err(LedgerError::Invalid(format!("{what} is required"))),
    }
}

fn date(value: &Option<String>, what: &str) -> LedgerResult<String> {
    let given = value
        .as_deref()
        .ok_or_else(|| LedgerError::Invalid(format!("{what} is required (YYYY-MM-DD)")))?;
    parse_date(given)
        .ok_or_else(|| LedgerError::Invalid(format!("{what} {given:?} is not a date (YYYY-MM-DD)")))
}

/// The validated fields of one step, in the order of `sql/clue_step.sql` ($3…$13).
#[derive(Debug, Default)]
struct StepFields {
    notes: Option<String>,
    verifier: Option<String>,
    verified_on: Option<String>,
    measures: Option<String>,
    deadline: Option<String>,
    lead: Option<String>,
    responsible: Option<Vec<String>>,
    evidence: Option<String>,
    rectified_on: Option<String>,
    closed_by: Option<String>,
    closed_on: Option<String>,
}

fn fields(action: Action, req: &StepRequest, who: &Principal) -> LedgerResult<StepFields> {
    let mut f = StepFields::default();
    let only = |allowed: &[&str]| -> LedgerResult<()> {
        let given = [
            ("notes", req.notes.is_some()),
            ("verifier", req.verifier.is_some()),
            ("date", req.date.is_some()),
            ("measures", req.measures.is_some()),
            ("deadline", req.deadline.is_some()),
            ("lead", req.lead.is_some()),
            ("responsible", req.responsible.is_some()),
            ("evidence", req.evidence.is_some()),
            ("note", req.note.is_some()),
            ("photos", req.photos.is_some()),
        ];
        match given.iter().find(|(k, set)| *set && !allowed.contains(k)) {
            Some((k, _)) => Err(LedgerError::Invalid(format!("{action} takes no {k}"))),
            None => Ok(()),
        }
    };
    match action {
        Action::VerifyProblem | Action::VerifyNoProblem => {
            only(&["notes", "verifier", "date", "photos"])?;
            f.notes = Some(text(&req.notes, "notes (the field verification)")?);
            f.verifier = Some(match &req.verifier {
                Some(_) => text(&req.verifier, "verifier")?,
                None => who.name().to_owned(),
            });
            f.verified_on = Some(date(&req.date, "date")?);
        }
        Action::StartRectification => {
            only(&["measures", "deadline", "lead", "responsible"])?;
            f.measures = Some(text(&req.measures, "measures")?);
            f.deadline = Some(date(&req.deadline, "deadline")?);
            f.lead = Some(text(&req.lead, "lead (the lead department)")?);
            f.responsible = Some(req.responsible.clone().unwrap_or_default());
        }
        Action::ReportRectified => {
            only(&["evidence", "date", "photos"])?;
            f.evidence = Some(text(&req.evidence, "evidence")?);
            f.rectified_on = Some(date(&req.date, "date")?);
        }
        Action::Close => {
            only(&["note", "date"])?;
            if req.note.is_some() {
                text(&req.note, "note")?;
            }
            f.closed_by = Some(who.name().to_owned());
            f.closed_on = match &req.date {
                Some(_) => Some(date(&req.date, "date")?),
                None => None,
            };
        }
    }
    Ok(f)
}

/// Takes one workflow step on clue `id` as `acting`: 404 if they may not see it, 403 if they
/// may not take this step, refused if the workflow does not allow it from the clue's status,
/// invalid if a required field is missing. Returns the clue as it now is and the audit seq.
#[tracing::instrument(skip_all, fields(clue = id, action = %req.action))]
pub async fn step(
    client: &mut Client,
    acting: &Acting,
    id: i64,
    req: &StepRequest,
) -> LedgerResult<(Clue, i64)> {
    let tx = client
        .transaction()
        .await
        .map_err(LedgerError::pg("starting the step"))?;
    let row = tx
        .query_opt(include_str!("sql/clue_lock.sql"), &[&id])
        .await
        .map_err(LedgerError::pg("locking the clue"))?;
    let not_found = || LedgerError::NotFound(format!("no clue {id}"));
    let row = row.ok_or_else(not_found)?;
    let lead: Option<String> = row.get("lead_department");
    let responsible: Vec<String> = row.get("responsible_departments");
    let departments = assigned(lead.as_deref(), &responsible);
    let who = &acting.who;
    if !can_act_on_clue(who, ClueRight::Read, &departments) {
        return Err(not_found());
    }
    let action = Action::parse(&req.action).ok_or_else(|| {
        LedgerError::Invalid(format!(
            "unknown action {:?}: verify_problem, verify_no_problem, start_rectification, \
             report_rectified or close",
            req.action
        ))
    })?;
    if !can_act_on_clue(who, action.right(), &departments) {
        return Err(LedgerError::Forbidden(match action.right() {
            ClueRight::SignOff => format!(
                "only editors of the coordinating office ({}) sign off clues",
                onemap_schemas::authz::COORDINATING_OFFICE
            ),
            _ => format!(
                "only editors of the clue's departments ({}) or of the coordinating office \
                 take this step",
                departments.join(", ")
            ),
        }));
    }
    let status: String = row.get("status");
    let from = Status::parse(&status).ok_or_else(|| {
        LedgerError::Invalid(format!("clue {id} has an unknown status {status:?}"))
    })?;
    let to = workflow::next(from, action).map_err(LedgerError::Refused)?;
    let f = fields(action, req, who)?;
    let mut codes: Vec<String> = f.lead.iter().cloned().collect();
    codes.extend(f.responsible.iter().flatten().cloned());
    let unknown: Vec<String> = tx
        .query(include_str!("sql/departments_unknown.sql"), &[&codes])
        .await
        .map_err(LedgerError::pg("checking the departments"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !unknown.is_empty() {
        return Err(LedgerError::Invalid(format!(
            "unknown department(s): {}",
            unknown.join(", ")
        )));
    }
    let photos = req.photos.clone().unwrap_or_default();
    if !photos.is_empty() {
        let known: Vec<i64> = tx
            .query(include_str!("sql/photos_of_clue.sql"), &[&id, &photos])
            .await
            .map_err(LedgerError::pg("checking the photos"))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let missing: Vec<String> = photos
            .iter()
            .filter(|p| !known.contains(p))
            .map(i64::to_string)
            .collect();
        if !missing.is_empty() {
            return Err(LedgerError::Invalid(format!(
                "no photo {} on clue {id}: upload it first (POST /api/clues/{id}/photos)",
                missing.join(", ")
            )));
        }
    }
    tx.execute(
        include_str!("sql/clue_step.sql"),
        &[
            &id,
            &to.as_str(),
            &f.notes,
            &f.verifier,
            &f.verified_on,
            &f.measures,
            &f.deadline,
            &f.lead,
            &f.responsible,
            &f.evidence,
            &f.rectified_on,
            &f.closed_by,
            &f.closed_on,
        ],
    )
    .await
    .map_err(LedgerError::pg("recording the step"))?;
    let clue_id: String = row.get("clue_id");
    let source: String = row.get("source");
    let mut details = json!({
        "clue_id": clue_id,
        "source": source,
        "from": from.as_str(),
        "to": to.as_str(),
    });
    for (k, v) in [
        ("notes", json!(f.notes)),
        ("verifier", json!(f.verifier)),
        (
            "date",
            json!(f.verified_on.or(f.rectified_on).or(f.closed_on)),
        ),
        ("measures", json!(f.measures)),
        ("deadline", json!(f.deadline)),
        ("lead", json!(f.lead)),
        ("responsible", json!(f.responsible)),
        ("evidence", json!(f.evidence)),
        ("note", json!(req.note)),
        ("photos", json!((!photos.is_empty()).then_some(&photos))),
    ] {
        if !v.is_null() {
            details[k] = v;
        }
    }
    let target = format!("clue:{id}");
    let seq = onemap_access::audit::append(
        &tx,
        acting,
        &format!("clue.{action}"),
        Some(&target),
        &details,
    )
    .await?;
    tx.execute(
        include_str!("sql/clue_event_insert.sql"),
        &[
            &id,
            &action.as_str(),
            &from.as_str(),
            &to.as_str(),
            &who.name(),
            &details,
            &seq,
        ],
    )
    .await
    .map_err(LedgerError::pg("recording the clue's history"))?;
    tx.commit()
        .await
        .map_err(LedgerError::pg("committing the step"))?;
    // Read back as the operator: the step may have moved the clue away from the caller's
    // departments (a new lead), and they just acted on it.
    let clue = get(&*client, &Principal::Operator(who.name().into()), id).await?;
    Ok((clue, seq))
}

/// The columns of the CSV export. The last three refer to the clue's photos: how many, their
/// ids (`;`-separated) and the URL path of each (`GET /api/clues/{id}/photos/{photo}`,
/// `;`-separated; who may see the clue may fetch them).
pub const CSV_COLUMNS: [&str; 31] = [
    "id",
    "clue_id",
    "source",
    "batch",
    "detected_on",
    "activity",
    "status",
    "overdue",
    "lon",
    "lat",
    "area_m2",
    "zones",
    "station",
    "village_code",
    "village_name",
    "land_classes",
    "suggested_lead",
    "lead_department",
    "responsible_departments",
    "verified_by",
    "verified_on",
    "field_notes",
    "measures",
    "deadline",
    "evidence",
    "rectified_on",
    "closed_by",
    "closed_on",
    "photo_count",
    "photo_ids",
    "photo_urls",
];

/// The export's rows (after the header [`CSV_COLUMNS`]), as text.
fn export_rows(clues: &[Clue]) -> Vec<Vec<String>> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    clues
        .iter()
        .map(|c| {
            let zones = c
                .zones
                .as_array()
                .map(|z| {
                    z.iter()
                        .filter_map(|z| z["name"].as_str())
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default();
            let classes = c
                .land_classes
                .as_array()
                .map(|z| {
                    z.iter()
                        .map(|y| format!("{}:{}", y["year"], y["class"].as_str().unwrap_or("")))
                        .collect::<Vec<_>>()
                        .join(";")
                })
                .unwrap_or_default();
            vec![
                c.id.to_string(),
                c.clue_id.clone(),
                c.source.clone(),
                c.batch.clone(),
                c.detected_on.clone(),
                c.activity.clone(),
                c.status.clone(),
                c.overdue.to_string(),
                format!("{:.7}", c.lon),
                format!("{:.7}", c.lat),
                format!("{:.1}", c.area_m2),
                zones,
                opt(&c.station),
                opt(&c.village_code),
                opt(&c.village_name),
                classes,
                opt(&c.suggested_lead),
                opt(&c.lead_department),
                c.responsible_departments.join(";"),
                opt(&c.verified_by),
                opt(&c.verified_on),
                opt(&c.field_notes),
                opt(&c.measures),
                opt(&c.deadline),
                opt(&c.evidence),
                opt(&c.rectified_on),
                opt(&c.closed_by),
                opt(&c.closed_on),
                c.photo_ids.len().to_string(),
                c.photo_ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(";"),
                c.photo_ids
                    .iter()
                    .map(|p| photo_url(c.id, *p))
                    .collect::<Vec<_>>()
                    .join(";"),
            ]
        })
        .collect()
}

/// The URL path of photo `photo` of clue `clue`, relative to the server's root.
pub fn photo_url(clue: i64, photo: i64) -> String {
    format!("/api/clues/{clue}/photos/{photo}")
}

/// The clues as CSV (UTF-8 with a BOM, so spreadsheet programs read the Chinese names).
pub fn export_csv(clues: &[Clue]) -> LedgerResult<Vec<u8>> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::Writer::from_writer(&mut out);
        let csv_err = |e: csv::Error| LedgerError::Invalid(format!("writing CSV: {e}"));
        w.write_record(CSV_COLUMNS).map_err(csv_err)?;
        for row in export_rows(clues) {
            w.write_record(row).map_err(csv_err)?;
        }
        w.flush()
            .map_err(|e| LedgerError::Invalid(format!("writing CSV: {e}")))?;
    }
    Ok(out)
}

/// The clues as an XLSX workbook: the CSV's columns (ids, coordinates and areas as numbers)
/// and a last column `geometry` with the clue's GeoJSON geometry, so that `onemap ledger
/// import` reads the export back with its polygons.
pub fn export_xlsx(clues: &[Clue]) -> LedgerResult<Vec<u8>> {
    use crate::xlsx::{Cell, Sheet};
    let numeric = ["id", "lon", "lat", "area_m2", "photo_count"];
    let mut rows: Vec<Vec<Cell>> = vec![CSV_COLUMNS
        .iter()
        .chain(["geometry"].iter())
        .map(|c| Cell::from(*c))
        .collect()];
    for (clue, row) in clues.iter().zip(export_rows(clues)) {
        let mut cells: Vec<Cell> = row
            .into_iter()
            .zip(CSV_COLUMNS)
            .map(|(v, column)| match v.parse::<f64>() {
                Ok(n) if numeric.contains(&column) => Cell::Number(n),
                _ => Cell::Text(v),
            })
            .collect();
        cells.push(Cell::Text(clue.geometry.to_string()));
        rows.push(cells);
    }
    crate::xlsx::write(&[Sheet {
        name: "clues".into(),
        rows,
    }])
    .map_err(|e| LedgerError::Invalid(format!("writing XLSX: {e}")))
}
