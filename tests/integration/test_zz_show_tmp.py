from tests.integration.test_pades import *  # noqa
from tests.conftest import pki  # noqa

async def test_show(timestamped, pki, tmp_path, signers, unsigned):
    d = tmp_path / "s.pdf"; d.write_bytes(timestamped)
    print("CMD-OUT\n" + pdfsig(d, pki, tmp_path))
    d2 = tmp_path / "t.pdf"; d2.write_bytes(flip_page_content(timestamped))
    print("TAMPER\n" + pdfsig(d2, pki, tmp_path))
    sigs, probs = await read_pdf_signatures(flip_page_content(timestamped))
    print([s.problem for s in sigs])
    sigs, probs = await read_pdf_signatures(revise(timestamped, overwrite_page))
    print([s.problem for s in sigs])
