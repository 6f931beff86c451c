//! The things a couple keeps in tandem, one module per noun.

pub mod agreement;
pub mod checkin;
pub mod idea;
pub mod note;
pub mod person;
pub mod personal_time;
pub mod plan;
pub mod settings;

/// Defines a fieldless enum stored as a lowercase string (in JSON and in documents), with
/// `FromStr` for the CLI and an OpenAPI schema listing the allowed values.
///
/// Every such enum also has an `Unknown` variant: a value written by a newer tandem that
/// this build has no name for. It reads as `unknown` instead of failing the whole list,
/// reconciling it writes nothing (so the newer value stays in the document when the rest
/// of the entity is edited), and it is never accepted as input (`FromStr`, and
/// `require_known` in the entities' validation).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value from a newer tandem: shown as `unknown`, kept as it is in the document.
            Unknown,
        }

        impl $name {
            /// Every value this build may write, in declaration order (not `Unknown`).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The names of [`Self::ALL`].
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The schema of a request field taking one: only the values a client may
            /// choose (never `unknown`, which only a newer tandem writes).
            pub fn choice_schema() -> utoipa::openapi::schema::Object {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some(Self::NAMES.iter().copied()))
                    .build()
            }

            /// [`Self::choice_schema`] or `null`, for fields where `null` means "as it is"
            /// or "the default".
            pub fn choice_or_null_schema() -> utoipa::openapi::schema::Object {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                        utoipa::openapi::schema::Type::String,
                        utoipa::openapi::schema::Type::Null,
                    ]))
                    .enum_values(Some(
                        Self::NAMES
                            .iter()
                            .map(|n| serde_json::Value::from(*n))
                            .chain([serde_json::Value::Null]),
                    ))
                    .build()
            }

            /// The stored and displayed name; `unknown` for a value from a newer tandem.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unknown => "unknown",
                }
            }

            /// `self`, or a validation error naming `field` if it is `Unknown`: a value from
            /// a newer tandem cannot be chosen, only kept.
            pub fn require_known(self, field: &str) -> Result<Self, $crate::error::ValidationError> {
                if self == $name::Unknown {
                    return Err($crate::error::ValidationError::new(
                        field,
                        format!("must be one of {}", Self::allowed()),
                    ));
                }
                Ok(self)
            }

            fn allowed() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let wanted = s.trim().to_ascii_lowercase().replace(['-', ' '], "_");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == wanted)
                    .ok_or_else(|| {
                        $crate::error::ValidationError::new(
                            stringify!($name),
                            format!("{s:?} is not one of {}", Self::allowed()),
                        )
                    })
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        /// Reads a known name exactly as written (the lenient spellings are `FromStr`'s,
        /// for people typing), or `unknown` as the daemon shows a newer value (so clients
        /// can read what it lists); entities refuse `Unknown` as input when validating.
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                if raw == $name::Unknown.as_str() {
                    return Ok($name::Unknown);
                }
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == raw)
                    .ok_or_else(|| serde::de::Error::unknown_variant(&raw, Self::NAMES))
            }
        }

        impl autosurgeon::Reconcile for $name {
            type Key<'a> = autosurgeon::reconcile::NoKey;
            fn reconcile<R: autosurgeon::Reconciler>(&self, r: R) -> Result<(), R::Error> {
                match self {
                    // Writing nothing leaves the newer tandem's value where it is.
                    $name::Unknown => Ok(()),
                    known => known.as_str().reconcile(r),
                }
            }
        }

        impl autosurgeon::Hydrate for $name {
            fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
                Ok(s.parse().unwrap_or($name::Unknown))
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text,)+ "unknown"]))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}
pub(crate) use string_enum;
