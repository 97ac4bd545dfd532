//! Photos as a form asks for them: scaled down to the question's `max-pixels` (ODK's
//! parameter) and, when the app asks, re-encoded without the camera's metadata (the EXIF and
//! XMP blocks where phones write the place a photo was taken) before they enter the attachment
//! store. A photo that needs neither is stored byte for byte as taken.

use crate::error::{Error, Result};
use crate::store::Store;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use minga_forms::Attachment;
use std::io::Cursor;

/// The JPEG quality a changed photo is written with: indistinguishable from the camera's to
/// the eye, about a third of its bytes at 4,000 pixels.
const JPEG_QUALITY: u8 = 90;

/// What to do to a photo before it is stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoOptions {
    /// The longest side the stored photo may have, in pixels (a form question's
    /// `max-pixels`): a larger photo is scaled down, keeping its proportions.
    pub max_pixels: Option<u32>,
    /// Store the photo without its metadata, so that it carries no location (a photo of a
    /// respondent's house must not say where the house is unless asked).
    pub strip_location: bool,
}

impl Store {
    /// Stores the photo `content` (JPEG or PNG) as an attachment after applying `options`,
    /// and returns the reference an answer holds (the SHA-256 of what was stored). A changed
    /// photo is turned upright first (the camera's orientation tag goes with the metadata)
    /// and written in its own format. With `strip_location`, a photo that is not a readable
    /// JPEG or PNG is [`Error::UnreadablePhoto`] and nothing is stored, since its metadata
    /// could not be removed; a size limit alone leaves such a content as it is. Cost: with
    /// a change, decoding and encoding the photo (its pixels in memory, 3 bytes each); without,
    /// as [`Store::add_attachment`].
    pub fn add_photo(
        &self,
        content: &[u8],
        file_name: &str,
        options: &PhotoOptions,
    ) -> Result<Attachment> {
        let (bytes, format) = match prepare(content, options)? {
            Prepared::AsTaken(format) => (None, format),
            Prepared::Changed(bytes, format) => (Some(bytes), Some(format)),
        };
        let media_type = format.map_or("application/octet-stream", |f| f.to_mime_type());
        self.add_attachment(bytes.as_deref().unwrap_or(content), media_type, file_name)
    }
}

/// A photo after [`prepare`]: its bytes as taken (with its format, if it is one a photo is
/// read in), or changed.
enum Prepared {
    AsTaken(Option<ImageFormat>),
    Changed(Vec<u8>, ImageFormat),
}

fn prepare(content: &[u8], options: &PhotoOptions) -> Result<Prepared> {
    let format = image::guess_format(content)
        .ok()
        .filter(|format| matches!(format, ImageFormat::Jpeg | ImageFormat::Png));
    let Some(format) = format else {
        return match options.strip_location {
            true => Err(unreadable("it is not a JPEG or PNG photo")),
            false => Ok(Prepared::AsTaken(None)),
        };
    };
    if options.max_pixels.is_none() && !options.strip_location {
        return Ok(Prepared::AsTaken(Some(format)));
    }
    let mut decoder = ImageReader::with_format(Cursor::new(content), format)
        .into_decoder()
        .map_err(|error| unreadable(&error.to_string()))?;
    let orientation = decoder
        .orientation()
        .map_err(|error| unreadable(&error.to_string()))?;
    let mut photo =
        DynamicImage::from_decoder(decoder).map_err(|error| unreadable(&error.to_string()))?;
    let too_large = options
        .max_pixels
        .filter(|max| photo.width().max(photo.height()) > *max);
    if too_large.is_none() && !options.strip_location {
        return Ok(Prepared::AsTaken(Some(format)));
    }
    photo.apply_orientation(orientation);
    if let Some(max) = too_large {
        photo = photo.resize(max, max, FilterType::CatmullRom);
    }
    Ok(Prepared::Changed(encode(&photo, format)?, format))
}

/// `photo` written as `format`, with no metadata at all (the encoders write none).
fn encode(photo: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    let written = match format {
        ImageFormat::Png => photo.write_with_encoder(PngEncoder::new(&mut bytes)),
        // JPEG holds no transparency: a photo with it is flattened to colour.
        _ => DynamicImage::ImageRgb8(photo.to_rgb8())
            .write_with_encoder(JpegEncoder::new_with_quality(&mut bytes, JPEG_QUALITY)),
    };
    written.map_err(|error| unreadable(&error.to_string()))?;
    Ok(bytes)
}

fn unreadable(reason: &str) -> Error {
    Error::UnreadablePhoto {
        reason: reason.to_owned(),
    }
}
