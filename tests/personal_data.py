"""Every written form of personal data the public uses, and how a masked output shows it
(huiying/masking.py); shared by the tests of each output."""

# (as the public wrote it, as a masked output shows it)
FORMS = {
    "mobile": ("13812341234", "138****1234"),
    "mobile_hyphens": ("138-1234-5678", "138****5678"),
    "mobile_spaces": ("139 8765 4321", "139****4321"),
    "mobile_full_width": ("１３７１２３４５６７８", "137****5678"),
    "mobile_country_code": ("+86 136 1111 2222", "+86 136****2222"),
    "id_18": ("110101199003071234", "110101********1234"),
    "id_15": ("330102800101123", "330102*****1123"),
    "landline": ("0571-88886666", "0571-****6666"),
    "landline_brackets": ("（0571）88887777", "(0571)****7777"),
    "email": ("zhang.san@example.com", "z***@example.com"),
}
ALL_CLEAR = "、".join(clear for clear, _ in FORMS.values())
