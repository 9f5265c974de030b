//! The six media, described once. Everything that differs between applications, books, games,
//! movies, series and tracks is data in this table (api-reference.md 2.9, 5.4); the routes, queries,
//! shapes and event writers are written once over it.

/// SQLite storage class of a media column (what the API shows: a JSON string or integer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
}

#[derive(Debug)]
pub struct Column {
    pub name: &'static str,
    pub kind: Kind,
}

const fn text(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Text,
    }
}
const fn int(name: &'static str) -> Column {
    Column {
        name,
        kind: Kind::Integer,
    }
}

/// A table that shares its key with `content` (the six media and `episode`).
#[derive(Debug)]
pub struct MediaTable {
    /// Table name, also the `model_name` of its events; `<name>_added_event` holds its additions.
    pub name: &'static str,
    /// `content.content_type` of its rows.
    pub content_type: &'static str,
    /// The alias under which the API repeats `content_id` (`app_id`, …; books have none).
    pub alias: Option<&'static str>,
    /// Columns in table order (also the order of its `_added_event` columns).
    pub columns: &'static [Column],
}

impl MediaTable {
    pub fn added_event_table(&self) -> String {
        format!("{}_added_event", self.name)
    }
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// How a medium's popular list is ordered (2.9), each ending with `content_id` as the tiebreaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopularOrder {
    /// `content.rating_count DESC, content.rating DESC`
    RatingCount,
    /// `content.popularity_score DESC`
    PopularityScore,
    /// `game.recommendations DESC`
    Recommendations,
}

impl PopularOrder {
    /// The ORDER BY terms, over `c` (content) and `m` (the media table). SQLite sorts NULL lowest,
    /// so DESC already means the reference's DESC NULLS LAST.
    pub fn sql(self) -> &'static str {
        match self {
            PopularOrder::RatingCount => "c.rating_count DESC, c.rating DESC, c.content_id",
            PopularOrder::PopularityScore => "c.popularity_score DESC, c.content_id",
            PopularOrder::Recommendations => "m.recommendations DESC, c.content_id",
        }
    }
}

#[derive(Debug)]
pub struct Medium {
    pub table: MediaTable,
    /// "Application", "Book", … as the messages spell it.
    pub display: &'static str,
    pub search_column: &'static str,
    pub popular_order: PopularOrder,
    /// Whether each list shows the Object variant (with `genres`) or the Base one (2.9).
    pub popular_with_genres: bool,
    pub search_with_genres: bool,
    pub recommendation_with_genres: bool,
    /// Applications show their first genre as `categorie`.
    pub with_categorie: bool,
    /// `GET /api/{m}/genres`: its message, and the permission it needs; `None`: no such route (book).
    pub genres_route: Option<(&'static str, Option<&'static str>)>,
    /// Bad-recommendation reason categories (5.4).
    pub reason_categories: &'static [&'static str],
    /// Content proposals ("additional", 2.8/2.9/5.10).
    pub proposal: Proposal,
    /// The columns content similarity reads, how, and with which weight (genres always count, ×2).
    pub similarity: &'static [(&'static str, Tokens, f32)],
}

/// How a column feeds content similarity (field-weighted TF-IDF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    /// Words of free text (titles).
    Words,
    /// A list of names separated by `,`, `|`, `/` or `&` (people, companies).
    Names,
    /// The whole value as one token (a publisher, a language, an artist).
    Whole,
    /// A year, as its decade.
    Decade,
}

/// Where a medium's proposals live and how the messages name them.
#[derive(Debug)]
pub struct Proposal {
    /// `<m>_additional`, keyed by `id_column`; genres in `<m>_additional_genres` (none for books).
    pub table: &'static str,
    pub id_column: &'static str,
    pub genres_table: Option<&'static str>,
    /// Media columns a proposal does not have (game proposals have no `recommendations`).
    pub skipped_columns: &'static [&'static str],
    /// Keys a proposal must give (the reference read them unconditionally and answered 500).
    pub required: &'static [&'static str],
    /// "application", "book", …, "series": as the messages spell it.
    pub noun: &'static str,
    pub list_message: &'static str,
}

impl Medium {
    pub fn name(&self) -> &'static str {
        self.table.name
    }
    pub fn popular_message(&self) -> String {
        format!("Most popular {} data sent", self.table.name)
    }
    pub fn search_message(&self) -> String {
        format!("{} data sent", self.display)
    }
    pub fn not_found_message(&self) -> String {
        format!("{} not found!", self.display)
    }

    /// The column whose values are unique among the medium's contents and among its proposals
    /// (applications by name, books by ISBN); a clash on it is the user's error, not ours.
    pub fn unique_column(&self) -> &'static str {
        if self.table.name == "book" {
            "isbn"
        } else {
            "name"
        }
    }

    pub fn by_name(name: &str) -> Option<&'static Medium> {
        MEDIA.iter().find(|m| m.table.name == name)
    }
    pub fn by_content_type(content_type: &str) -> Option<&'static Medium> {
        MEDIA.iter().find(|m| m.table.content_type == content_type)
    }
}

pub static EPISODE: MediaTable = MediaTable {
    name: "episode",
    content_type: "EPISODE",
    alias: Some("episode_id"),
    columns: &[
        text("imdbid"),
        text("title"),
        int("year"),
        int("season_number"),
        int("episode_number"),
        int("serie_id"),
    ],
};

/// How many media there are.
pub const MEDIA_COUNT: usize = 6;

pub static MEDIA: [Medium; MEDIA_COUNT] = [
    Medium {
        table: MediaTable {
            name: "application",
            content_type: "APPLICATION",
            alias: Some("app_id"),
            columns: &[
                text("name"),
                text("size"),
                text("installs"),
                text("type"),
                text("price"),
                text("content_rating"),
                text("last_updated"),
                text("current_version"),
                text("android_version"),
                text("cover"),
            ],
        },
        display: "Application",
        search_column: "name",
        popular_order: PopularOrder::RatingCount,
        popular_with_genres: false,
        search_with_genres: false,
        recommendation_with_genres: false,
        with_categorie: true,
        genres_route: Some(("Application genres data sent", Some("indicate_interest"))),
        reason_categories: &["categorie"],
        proposal: Proposal {
            table: "application_additional",
            id_column: "app_id",
            genres_table: Some("application_additional_genres"),
            skipped_columns: &[],
            required: &["name", "genres"],
            noun: "application",
            list_message: "Additional application data sent",
        },
        similarity: &[
            ("name", Tokens::Words, 1.0),
            ("type", Tokens::Whole, 0.3),
            ("content_rating", Tokens::Whole, 0.3),
        ],
    },
    Medium {
        table: MediaTable {
            name: "book",
            content_type: "BOOK",
            alias: None,
            columns: &[
                text("isbn"),
                text("title"),
                text("author"),
                int("year_of_publication"),
                text("publisher"),
                text("image_url_s"),
                text("image_url_m"),
                text("image_url_l"),
            ],
        },
        display: "Book",
        search_column: "title",
        popular_order: PopularOrder::PopularityScore,
        popular_with_genres: false,
        search_with_genres: false,
        recommendation_with_genres: false,
        with_categorie: false,
        genres_route: None,
        reason_categories: &["author", "publisher", "year_of_publication"],
        proposal: Proposal {
            table: "book_additional",
            id_column: "book_id",
            genres_table: None,
            skipped_columns: &[],
            required: &["title", "isbn"],
            noun: "book",
            list_message: "Additional Book data sent",
        },
        similarity: &[
            ("title", Tokens::Words, 1.0),
            ("author", Tokens::Names, 2.0),
            ("publisher", Tokens::Whole, 1.0),
            ("year_of_publication", Tokens::Decade, 0.5),
        ],
    },
    Medium {
        table: MediaTable {
            name: "game",
            content_type: "GAME",
            alias: Some("game_id"),
            columns: &[
                int("steamid"),
                text("name"),
                text("short_description"),
                text("header_image"),
                text("website"),
                text("developers"),
                text("publishers"),
                text("price"),
                int("recommendations"),
                text("release_date"),
            ],
        },
        display: "Game",
        search_column: "name",
        popular_order: PopularOrder::Recommendations,
        popular_with_genres: true,
        search_with_genres: false,
        recommendation_with_genres: true,
        with_categorie: false,
        genres_route: Some(("Game genres data sent", None)),
        reason_categories: &["developers", "publishers", "genres", "release_date"],
        proposal: Proposal {
            table: "game_additional",
            id_column: "game_id",
            genres_table: Some("game_additional_genres"),
            skipped_columns: &["recommendations"],
            required: &["name", "steamid", "genres"],
            noun: "game",
            list_message: "Additional game data sent",
        },
        similarity: &[
            ("name", Tokens::Words, 1.0),
            ("developers", Tokens::Names, 1.5),
            ("publishers", Tokens::Names, 1.0),
        ],
    },
    Medium {
        table: MediaTable {
            name: "movie",
            content_type: "MOVIE",
            alias: Some("movie_id"),
            columns: &[
                text("title"),
                text("language"),
                text("actors"),
                text("year"),
                text("producers"),
                text("director"),
                text("writer"),
                text("imdbid"),
                text("tmdbid"),
                text("cover"),
                text("plot_outline"),
            ],
        },
        display: "Movie",
        search_column: "title",
        popular_order: PopularOrder::PopularityScore,
        popular_with_genres: true,
        search_with_genres: false,
        recommendation_with_genres: true,
        with_categorie: false,
        genres_route: Some(("Movie genres data sent", None)),
        reason_categories: &[
            "actors",
            "year",
            "producers",
            "director",
            "genres",
            "writer",
        ],
        proposal: Proposal {
            table: "movie_additional",
            id_column: "movie_id",
            genres_table: Some("movie_additional_genres"),
            skipped_columns: &[],
            required: &["title", "genres"],
            noun: "movie",
            list_message: "Additional movie data sent",
        },
        similarity: &[
            ("title", Tokens::Words, 1.0),
            ("actors", Tokens::Names, 1.0),
            ("director", Tokens::Names, 1.5),
            ("writer", Tokens::Names, 1.0),
            ("producers", Tokens::Names, 0.5),
            ("language", Tokens::Whole, 0.5),
            ("year", Tokens::Decade, 0.5),
        ],
    },
    Medium {
        table: MediaTable {
            name: "serie",
            content_type: "SERIE",
            alias: Some("serie_id"),
            columns: &[
                text("imdbid"),
                text("title"),
                int("start_year"),
                int("end_year"),
                text("writers"),
                text("directors"),
                text("actors"),
                text("cover"),
                text("plot_outline"),
            ],
        },
        display: "Serie",
        search_column: "title",
        popular_order: PopularOrder::PopularityScore,
        popular_with_genres: true,
        search_with_genres: false,
        recommendation_with_genres: true,
        with_categorie: false,
        genres_route: Some(("Serie genres data sent", None)),
        reason_categories: &[
            "directors",
            "writers",
            "start_year",
            "end_year",
            "genres",
            "actors",
        ],
        proposal: Proposal {
            table: "serie_additional",
            id_column: "serie_id",
            genres_table: Some("serie_additional_genres"),
            skipped_columns: &[],
            required: &["title", "genres"],
            noun: "series",
            list_message: "Additional series data sent",
        },
        similarity: &[
            ("title", Tokens::Words, 1.0),
            ("writers", Tokens::Names, 1.0),
            ("directors", Tokens::Names, 1.5),
            ("actors", Tokens::Names, 1.0),
            ("start_year", Tokens::Decade, 0.5),
        ],
    },
    Medium {
        table: MediaTable {
            name: "track",
            content_type: "TRACK",
            alias: Some("track_id"),
            columns: &[
                text("title"),
                int("year"),
                text("artist_name"),
                text("release"),
                text("track_mmid"),
                text("recording_mbid"),
                text("spotify_id"),
                text("covert_art_url"),
            ],
        },
        display: "Track",
        search_column: "title",
        popular_order: PopularOrder::RatingCount,
        popular_with_genres: true,
        search_with_genres: true,
        recommendation_with_genres: true,
        with_categorie: false,
        genres_route: Some(("track genres data sent", None)),
        reason_categories: &["year", "artist_name", "release", "genres"],
        proposal: Proposal {
            table: "track_additional",
            id_column: "track_id",
            genres_table: Some("track_additional_genres"),
            skipped_columns: &[],
            required: &["title", "genres"],
            noun: "track",
            list_message: "Additional track data sent",
        },
        similarity: &[
            ("title", Tokens::Words, 1.0),
            ("artist_name", Tokens::Whole, 2.0),
            ("release", Tokens::Whole, 1.0),
            ("year", Tokens::Decade, 0.5),
        ],
    },
];
