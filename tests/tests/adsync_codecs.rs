//! The ADSync codecs: the MMSK keyset and `encrypted_configuration`.
