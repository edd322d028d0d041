//! Checking a library's file before it is mapped. The dynamic loader maps each segment where the
//! headers say and trusts the file to be that long: a truncated library is mapped without
//! complaint, and the first touch of a page past the end of the file kills the process with a bus
//! error. So the headers are read here, from a copy in memory, and every range they name is
//! checked against the file's size.

use object::read::elf::{ElfFile, FileHeader, ProgramHeader};
use object::{FileKind, Object, ObjectSection, ObjectSegment};

/// Checks that `data`, a whole library file, is a shared library whose headers, segments and
/// sections all lie inside it. The error says what is wrong, in a few words.
pub fn check_image(data: &[u8]) -> Result<(), String> {
    let len = data.len() as u64;
    let kind = FileKind::parse(data).map_err(|_| {
        format!("it is not a shared library ({len} bytes, with no ELF, Mach-O or PE header)")
    })?;
    let within = |what: &str, offset: u64, size: u64| match offset.checked_add(size) {
        Some(end) if end <= len => Ok(()),
        _ => Err(format!(
            "{what} at bytes {offset}..{} lies past the end of the file ({len} bytes): the file is truncated or damaged; copy or rebuild it",
            offset.saturating_add(size)
        )),
    };
    match kind {
        FileKind::Elf32 => {
            check_elf::<object::elf::FileHeader32<object::Endianness>>(data, &within)?
        }
        FileKind::Elf64 => {
            check_elf::<object::elf::FileHeader64<object::Endianness>>(data, &within)?
        }
        FileKind::MachO32 | FileKind::MachO64 | FileKind::Pe32 | FileKind::Pe64 => {}
        other => return Err(format!("it is not a shared library but a {other:?} file")),
    }
    let file = object::File::parse(data)
        .map_err(|e| format!("its headers are damaged or cut short ({e}); copy or rebuild it"))?;
    for segment in file.segments() {
        let (offset, size) = segment.file_range();
        within("a segment", offset, size)?;
    }
    for section in file.sections() {
        if let Some((offset, size)) = section.file_range() {
            within("a section", offset, size)?;
        }
    }
    Ok(())
}

/// Every program header, not only the loadable segments `Object::segments` lists: the loader
/// also reads the dynamic section and the interpreter from the file.
fn check_elf<H: FileHeader<Endian = object::Endianness>>(
    data: &[u8],
    within: &dyn Fn(&str, u64, u64) -> Result<(), String>,
) -> Result<(), String> {
    let file = ElfFile::<H>::parse(data).map_err(|e| {
        format!("its ELF headers are damaged or cut short ({e}); copy or rebuild it")
    })?;
    if file.elf_header().e_type(file.endian()) != object::elf::ET_DYN {
        return Err("it is an ELF file but not a shared library".into());
    }
    for header in file.elf_program_headers() {
        let (offset, size) = header.file_range(file.endian());
        within("a segment", offset, size)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test binary itself: a real ELF file to cut (position-independent, so of the same ELF
    /// type as a shared library).
    fn own_image() -> Vec<u8> {
        std::fs::read(std::env::current_exe().expect("exe")).expect("read exe")
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_cut_or_foreign_file_is_refused_before_it_is_mapped() {
        let exe = own_image();
        assert_eq!(check_image(&exe), Ok(()));
        for cut in [0, 3, 63, 64, 3000, exe.len() / 2, exe.len() - 1] {
            let e = check_image(&exe[..cut]).unwrap_err();
            assert!(
                e.contains("truncated")
                    || e.contains("cut short")
                    || e.contains("not a shared library"),
                "{cut}: {e}"
            );
        }
        assert!(
            check_image(b"#!/bin/sh\necho hi\n")
                .unwrap_err()
                .contains("not a shared library")
        );
    }
}
