//! The read side of the layer catalog: layers, their versions and the reference tables, each
//! filtered through [`crate::authz::can_read`].

use std::collections::HashMap;

use serde::Serialize;
use tokio_postgres::GenericClient;

use crate::authz::{can_read, Principal};
use crate::reference::{Department, LandClass, Theme};
use crate::{SchemaError, SchemaResult};

/// A published layer, with its versions newest first.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Layer {
    /// Internal numeric key: the only layer identifier written into generated SQL.
    #[serde(skip)]
    pub key: i32,
    pub id: String,
    /// The display title (Chinese, the county's working language).
    pub title: String,
    pub title_zh: String,
    pub title_en: String,
    pub department: String,
    pub department_name_zh: String,
    pub department_name_en: String,
    pub theme: String,
    pub theme_name_zh: String,
    pub theme_name_en: String,
    pub geometry_type: String,
    pub access_level: String,
    /// Departments a restricted layer is shared with, besides its owner (sorted).
    pub shared_with: Vec<String>,
    pub class_field: Option<String>,
    pub versions: Vec<LayerVersion>,
}

/// One published version of a layer: a survey year or a label.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LayerVersion {
    pub id: i64,
    pub year: Option<i32>,
    pub label: String,
    pub feature_count: i64,
    /// West, south, east, north in EPSG:4326.
    pub bbox: Option<Vec<f64>>,
    pub srid: i32,
    pub source_file: String,
    pub source_sha256: String,
    pub ingested_at: String,
    pub ingested_by: String,
}

impl Layer {
    /// The version a request means: the newest of `year` if given, else the newest overall.
    pub fn version(&self, year: Option<i32>) -> Option<&LayerVersion> {
        match year {
            Some(y) => self.versions.iter().find(|v| v.year == Some(y)),
            None => self.versions.first(),
        }
    }

    /// Whether the layer holds land-use parcels with a class code.
    pub fn is_land_use(&self) -> bool {
        self.class_field.is_some()
    }
}

/// The whole catalog as loaded from the database, before any authorization.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    layers: Vec<Layer>,
}

impl Catalog {
    /// Reads every layer and version.
    pub async fn load(client: &impl GenericClient) -> SchemaResult<Self> {
        let rows = client
            .query(include_str!("sql/layers.sql"), &[])
            .await
            .map_err(SchemaError::pg("reading the layer catalog"))?;
        let mut layers: Vec<Layer> = rows
            .iter()
            .map(|r| Layer {
                key: r.get("key"),
                id: r.get("id"),
                title: r.get("title_zh"),
                title_zh: r.get("title_zh"),
                title_en: r.get("title_en"),
                department: r.get("department"),
                department_name_zh: r.get("department_name_zh"),
                department_name_en: r.get("department_name_en"),
                theme: r.get("theme"),
                theme_name_zh: r.get("theme_name_zh"),
                theme_name_en: r.get("theme_name_en"),
                geometry_type: r.get("geometry_type"),
                access_level: r.get("access_level"),
                shared_with: r.get("shared_with"),
                class_field: r.get("class_field"),
                versions: Vec::new(),
            })
            .collect();
        let index: HashMap<i32, usize> =
            layers.iter().enumerate().map(|(i, l)| (l.key, i)).collect();
        let versions = client
            .query(include_str!("sql/layer_versions.sql"), &[])
            .await
            .map_err(SchemaError::pg("reading the layer versions"))?;
        for r in &versions {
            let Some(&i) = index.get(&r.get::<_, i32>("layer_key")) else {
                continue;
            };
            layers[i].versions.push(LayerVersion {
                id: r.get("id"),
                year: r.get("year"),
                label: r.get("label"),
                feature_count: r.get("feature_count"),
                bbox: r.get("bbox"),
                srid: r.get("srid"),
                source_file: r.get("source_file"),
                source_sha256: r.get("source_sha256"),
                ingested_at: r.get("ingested_at"),
                ingested_by: r.get("ingested_by"),
            });
        }
        Ok(Self { layers })
    }

    /// The layers `who` may see, ordered by theme and id. This is the only way to list them.
    pub fn visible<'a>(&'a self, who: &'a Principal) -> impl Iterator<Item = &'a Layer> + 'a {
        self.layers.iter().filter(move |l| can_read(who, l))
    }

    /// One layer, if it exists and `who` may see it: a layer `who` may not see does not exist.
    pub fn layer(&self, who: &Principal, id: &str) -> Option<&Layer> {
        self.layers
            .iter()
            .find(|l| l.id == id)
            .filter(|l| can_read(who, l))
    }
}

/// Every layer `who` may see, ordered by theme and id.
pub async fn layers(client: &impl GenericClient, who: &Principal) -> SchemaResult<Vec<Layer>> {
    let catalog = Catalog::load(client).await?;
    Ok(catalog.visible(who).cloned().collect())
}

/// One layer by id, if it exists and `who` may see it.
pub async fn layer(
    client: &impl GenericClient,
    who: &Principal,
    id: &str,
) -> SchemaResult<Option<Layer>> {
    Ok(Catalog::load(client).await?.layer(who, id).cloned())
}

/// The departments.
pub async fn departments(client: &impl GenericClient) -> SchemaResult<Vec<Department>> {
    let rows = client
        .query(
            "SELECT code, name_zh, name_en, kind FROM onemap.departments ORDER BY code",
            &[],
        )
        .await
        .map_err(SchemaError::pg("reading the departments"))?;
    Ok(rows
        .iter()
        .map(|r| Department {
            code: r.get(0),
            name_zh: r.get(1),
            name_en: r.get(2),
            kind: r.get(3),
        })
        .collect())
}

/// The themes in display order.
pub async fn themes(client: &impl GenericClient) -> SchemaResult<Vec<Theme>> {
    let rows = client
        .query(
            "SELECT code, name_zh, name_en, sort_order FROM onemap.themes ORDER BY sort_order",
            &[],
        )
        .await
        .map_err(SchemaError::pg("reading the themes"))?;
    Ok(rows
        .iter()
        .map(|r| Theme {
            code: r.get(0),
            name_zh: r.get(1),
            name_en: r.get(2),
            sort_order: r.get(3),
        })
        .collect())
}

/// The land classes, parents first.
pub async fn land_classes(client: &impl GenericClient) -> SchemaResult<Vec<LandClass>> {
    let rows = client
        .query(include_str!("sql/land_classes.sql"), &[])
        .await
        .map_err(SchemaError::pg("reading the land classes"))?;
    Ok(rows
        .iter()
        .map(|r| LandClass {
            code: r.get("code"),
            name_zh: r.get("name_zh"),
            name_en: r.get("name_en"),
            level: r.get("level"),
            parent: r.get("parent"),
            color: r.get("color"),
            working: r.get("working"),
        })
        .collect())
}
