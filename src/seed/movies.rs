//! The real movie catalogue embedded in the binary (CC0, Wikidata; see data/README.md).

use flate2::read::GzDecoder;

static MOVIES_CSV_GZ: &[u8] = include_bytes!("../../data/movies-wikidata-cc0.csv.gz");

#[derive(Debug, Clone, serde::Deserialize)]
pub struct Film {
    pub imdbid: String,
    pub title: String,
    pub year: String,
    pub genres: String,
    pub director: String,
    pub writer: String,
    pub cast: String,
    pub language: String,
    pub country: String,
}

impl Film {
    pub fn genre_names(&self) -> impl Iterator<Item = &str> {
        self.genres
            .split(',')
            .map(str::trim)
            .filter(|g| !g.is_empty())
    }
}

/// All films, in file order.
pub fn load() -> Result<Vec<Film>, csv::Error> {
    csv::Reader::from_reader(GzDecoder::new(MOVIES_CSV_GZ))
        .deserialize()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_embedded_catalogue_loads() {
        let films = super::load().unwrap();
        assert_eq!(films.len(), 17_472);
        assert!(
            films
                .iter()
                .any(|f| f.title == "The Intouchables" && f.year == "2011")
        );
        assert!(films.iter().all(|f| f.imdbid.starts_with("tt")));
    }
}
