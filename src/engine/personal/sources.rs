//! What the lists are computed from: the models' neighbour lists and the popular pools, loaded lazily
//! (one user) or preloaded a medium at a time (a full run).

use super::*;

/// A popular content with its genres.
pub(super) struct Popular {
    pub(super) content_id: i64,
    pub(super) popularity: f32,
    pub(super) genres: Vec<i64>,
}

/// Which neighbour lists a `Lists` reads.
#[derive(Clone, Copy)]
pub(super) enum Model {
    Collaborative,
    Similar,
}

/// Neighbour lists, all preloaded for a medium (full run) or read on demand and cached. Ids are
/// held in 32 bits (ids are dense from 1; a content past 2³² is no one's neighbour): a medium's
/// regression weights take half the memory of (i64, f32) pairs, which pad to 16 bytes.
pub(super) struct Lists {
    model: Model,
    cache: IdMap<i64, Vec<(u32, f32)>>,
    complete: bool,
    /// Read on demand: contents deleted since the model's stage last ran, which its stored lists
    /// may still name (V11); they are no candidates.
    gone: Option<IdSet<i64>>,
}

impl Lists {
    pub(super) fn lazy(model: Model) -> Lists {
        Lists {
            model,
            cache: IdMap::default(),
            complete: false,
            gone: None,
        }
    }

    /// Every list of one medium, in one pass, naming only `live` contents (by id: the content's
    /// medium, `None` when there is no such content).
    pub(super) fn preload(
        conn: &Connection,
        model: Model,
        medium: usize,
        live: &[Option<u8>],
    ) -> rusqlite::Result<Lists> {
        let content_type = MEDIA[medium].table.content_type;
        let is_live = |id: i64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| live.get(i).copied().flatten())
                .is_some()
        };
        let mut cache: IdMap<i64, Vec<(u32, f32)>> = IdMap::default();
        match model {
            Model::Collaborative => {
                let mut stmt = conn.prepare(
                    "SELECT n.content_id, n.neighbours FROM collaborative_neighbours n
                     JOIN content c ON c.content_id = n.content_id WHERE c.content_type = ?1",
                )?;
                let mut rows = stmt.query([content_type])?;
                while let Some(row) = rows.next()? {
                    let blob: Vec<u8> = row.get(1)?;
                    let list = narrow(collaborative::unpack(&blob), is_live);
                    cache.insert(row.get(0)?, list);
                }
            }
            Model::Similar => {
                // Only the key range between the medium's lowest and highest live ids is read:
                // a catalogue imported medium by medium has its ids in blocks, and a scan of the
                // whole table per medium was six scans of it (on the large seed the loading took
                // 6.9 s instead of 5.4 s). Where the media's ids interleave, it is that scan.
                let ours = |m: &Option<u8>| usize::from(m.unwrap_or(u8::MAX)) == medium;
                let low = live.iter().position(ours).unwrap_or(usize::MAX);
                let high = live.iter().rposition(ours).unwrap_or(0);
                let mut stmt = conn.prepare(
                    "SELECT content_id0, content_id1, similarity FROM similars_content
                     WHERE content_id0 BETWEEN ?2 AND ?3 AND content_type0 = ?1",
                )?;
                let bound = |i: usize| i64::try_from(i).unwrap_or(i64::MAX);
                let mut rows = stmt.query(params![content_type, bound(low), bound(high)])?;
                // Rows come by owner (the key's order): each owner's list is gathered, then
                // inserted once.
                let mut gathering: Option<(i64, Vec<(u32, f32)>)> = None;
                while let Some(row) = rows.next()? {
                    let owner: i64 = row.get(0)?;
                    let neighbour: i64 = row.get(1)?;
                    let similarity: Option<f64> = row.get(2)?;
                    if gathering.as_ref().is_none_or(|(id, _)| *id != owner) {
                        let gathered = gathering.replace((owner, Vec::new()));
                        if let Some((id, list)) = gathered {
                            keep_list(&mut cache, id, list);
                        }
                    }
                    if let (true, Ok(narrow), Some((_, list))) = (
                        is_live(neighbour),
                        u32::try_from(neighbour),
                        gathering.as_mut(),
                    ) {
                        list.push((narrow, similarity.unwrap_or(0.0) as f32));
                    }
                }
                if let Some((id, list)) = gathering {
                    keep_list(&mut cache, id, list);
                }
            }
        }
        Ok(Lists {
            model,
            cache,
            complete: true,
            gone: None,
        })
    }

    pub(super) fn load(&mut self, conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
        if self.complete {
            return Ok(());
        }
        let gone = match &mut self.gone {
            Some(gone) => gone,
            slot => {
                let stage = match self.model {
                    Model::Collaborative => collaborative::STAGE,
                    Model::Similar => crate::engine::similarity::STAGE,
                };
                slot.insert(crate::engine::deleted_since(
                    conn,
                    crate::engine::watermark(conn, stage)?,
                )?)
            }
        };
        for id in ids {
            if self.cache.contains_key(id) {
                continue;
            }
            let list: Vec<(i64, f32)> = match self.model {
                Model::Collaborative => collaborative::stored(conn, *id)?,
                Model::Similar => conn
                    .prepare_cached(
                        "SELECT content_id1, similarity FROM similars_content WHERE content_id0 = ?1",
                    )?
                    .query_map([id], |r| {
                        Ok((r.get(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(0.0) as f32))
                    })?
                    .collect::<Result<_, _>>()?,
            };
            let list = narrow(list, |neighbour| !gone.contains(&neighbour));
            self.cache.insert(*id, list);
        }
        Ok(())
    }

    pub(super) fn get(&self, id: u32) -> Option<&[(u32, f32)]> {
        self.cache.get(&i64::from(id)).map(Vec::as_slice)
    }
}

/// Keeps a gathered list (an owner none of whose neighbours is live has none).
fn keep_list(cache: &mut IdMap<i64, Vec<(u32, f32)>>, owner: i64, list: Vec<(u32, f32)>) {
    if !list.is_empty() {
        cache.entry(owner).or_default().extend(list);
    }
}

/// The neighbours that `keep` accepts, with 32-bit ids.
fn narrow(list: Vec<(i64, f32)>, keep: impl Fn(i64) -> bool) -> Vec<(u32, f32)> {
    list.into_iter()
        .filter(|(id, _)| keep(*id))
        .filter_map(|(id, similarity)| Some((u32::try_from(id).ok()?, similarity)))
        .collect()
}

/// Models and popular pools, per medium.
pub struct Sources {
    pub(super) collaborative: Vec<Lists>,
    pub(super) similar: Vec<Lists>,
    pub(super) pools: Vec<Option<Vec<Popular>>>,
}

impl Sources {
    /// Reads what a person needs on demand (incremental runs, one user, one profile).
    pub fn lazy() -> Sources {
        Sources {
            collaborative: MEDIA
                .iter()
                .map(|_| Lists::lazy(Model::Collaborative))
                .collect(),
            similar: MEDIA.iter().map(|_| Lists::lazy(Model::Similar)).collect(),
            pools: MEDIA.iter().map(|_| None).collect(),
        }
    }

    /// Preloads one medium's models (full runs go medium by medium to bound memory).
    pub(super) fn preload_medium(
        &mut self,
        conn: &Connection,
        medium: usize,
        live: &[Option<u8>],
    ) -> rusqlite::Result<()> {
        self.collaborative[medium] = Lists::preload(conn, Model::Collaborative, medium, live)?;
        self.similar[medium] = Lists::preload(conn, Model::Similar, medium, live)?;
        Ok(())
    }

    pub(super) fn release_medium(&mut self, medium: usize) {
        self.collaborative[medium] = Lists::lazy(Model::Collaborative);
        self.similar[medium] = Lists::lazy(Model::Similar);
    }

    pub(super) fn load_pool(&mut self, conn: &Connection, medium: usize) -> rusqlite::Result<()> {
        if self.pools[medium].is_some() {
            return Ok(());
        }
        let pool: Vec<Popular> = conn
            .prepare_cached(
                "SELECT p.content_id, p.score, group_concat(cg.genre_id)
                 FROM (SELECT content_id, coalesce(popularity_score, 0) AS score FROM content WHERE content_type = ?1
                       ORDER BY popularity_score DESC, content_id LIMIT ?2) p
                 LEFT JOIN content_genres cg ON cg.content_id = p.content_id
                 GROUP BY p.content_id ORDER BY p.score DESC, p.content_id",
            )?
            .query_map(params![MEDIA[medium].table.content_type, POOL as i64], |r| {
                let genres: Option<String> = r.get(2)?;
                Ok(Popular {
                    content_id: r.get(0)?,
                    popularity: r.get::<_, f64>(1)? as f32,
                    genres: genres
                        .unwrap_or_default()
                        .split(',')
                        .filter_map(|g| g.parse().ok())
                        .collect(),
                })
            })?
            .collect::<Result<_, _>>()?;
        self.pools[medium] = Some(pool);
        Ok(())
    }

    /// Reads what `person`'s lists in `medium` need (nothing when preloaded).
    pub(super) fn load_for(
        &mut self,
        conn: &Connection,
        person: &Person,
        medium: usize,
    ) -> rusqlite::Result<()> {
        let (history, liked) = inputs(person, medium);
        let ids: Vec<i64> = history.iter().map(|(id, _)| *id).collect();
        self.collaborative[medium].load(conn, &ids)?;
        let ids: Vec<i64> = liked.iter().map(|(id, _)| *id).collect();
        self.similar[medium].load(conn, &ids)?;
        self.load_pool(conn, medium)
    }
}
