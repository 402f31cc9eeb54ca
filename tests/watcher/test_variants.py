"""The image property libplacement_variants."""

import pytest

from libplacement_watcher import variants

C = '3f2a8c1e-4b5d-4e6f-8a7b-9c0d1e2f3a4b'
U = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d'


def test_parse():
    assert variants.parse('container:%s,unikernel:%s' % (C, U)) == \
        {'container': C, 'unikernel': U}
    assert variants.parse(' container : %s , ' % C) == {'container': C}
    assert variants.parse('') == {}


@pytest.mark.parametrize('value, message', [
    ('docker:%s' % C, "'docker:%s' is not runtime:image-uuid" % C),
    (C, 'is not runtime:image-uuid'),
    ('container:tomcat-image', "'tomcat-image' is not an image UUID"),
    ('vm:%s,vm:%s' % (C, U), 'runtime vm is given twice'),
])
def test_parse_refuses(value, message):
    with pytest.raises(ValueError) as e:
        variants.parse(value)
    assert message in str(e.value)
